// Network allow/deny rules from the Matchlockfile's [network] table:
//   "example.com"        exactly that name (any port)
//   "*.example.com"      any proper subdomain, not example.com itself
//   "example.com:443"    that name, that port only
//   "10.0.0.0/8[:port]"  an IPv4 CIDR block (a bare address means /32)
// Names are matched case-insensitively and stored lowercase.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "net/hostname.hpp"
#include "net/ipv4.hpp"
#include "util/result.hpp"

namespace net {

enum class RuleKind { Host, Subdomains, Cidr };

struct Rule {
  RuleKind kind = RuleKind::Host;
  std::string host;   // lowercase name, without "*." (Host, Subdomains)
  Cidr cidr;          // (Cidr)
  uint16_t port = 0;  // 0 = any port

  // The canonical text: parse_rule(to_string()) gives an equal Rule.
  std::string to_string() const;
  bool operator==(const Rule&) const = default;
};

// Parses one entry. Errors say what is wrong ("port must be 1..65535").
util::Result<Rule> parse_rule(std::string_view text);
// HOST is a name or an IPv4 literal; PORT is the destination port.
bool matches(const Rule& rule, std::string_view host, uint16_t port);
// Every destination INNER matches, OUTER matches too (INNER is no wider than OUTER).
// Names and CIDR blocks never cover each other (names never match an address).
bool rule_within(const Rule& inner, const Rule& outer);
// Some destination matches both A and B.
bool rules_overlap(const Rule& a, const Rule& b);

}  // namespace net
