// net::Policy: the network decisions for one sandbox, built from the
// Matchlockfile's [network] rules and the hosts secrets are bound to.
//   - deny wins over allow;
//   - hosts a secret is bound to are implicitly allowed;
//   - a text that is neither a valid host name (net/hostname.hpp) nor an IPv4 address is
//     refused before any rule is consulted (so no byte after a NUL can match a rule);
//   - a flow to a name (behind a synthetic address) needs an allow rule for NAME:PORT;
//   - a flow to a raw IPv4 address needs a CIDR allow rule (names never match an address);
//   - block_private refuses loopback/RFC 1918/link-local/CGNAT upstream addresses unless
//     a CIDR allow rule names them explicitly;
//   - a name under host.internal is admitted only as a declared host service on its own
//     port (net/host_service.hpp); no allow rule matches such names.
// Every decision names the rule that made it, so refusals can say how to change them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/host_service.hpp"
#include "net/ipv4.hpp"
#include "net/resolve_upstream.hpp"
#include "net/rule.hpp"

namespace net {

enum class Verdict { Allow, Deny };

struct Decision {
  Verdict verdict = Verdict::Deny;
  std::string rule;    // the matching rule as written ("*.github.com:443"), or "" for the default
  std::string reason;  // one sentence for people and agents ("not in [network].allow")
  bool allowed() const { return verdict == Verdict::Allow; }
};

// A rule together with where it came from, for messages ("secret GH_TOKEN").
struct SourcedRule {
  Rule rule;
  std::string source;  // "network.allow", "network.deny", "secrets.NAME.hosts"
};

class Policy {
 public:
  Policy() = default;
  Policy(std::vector<Rule> allow, std::vector<Rule> deny, BlockPrivate block_private);
  // Hosts that secret NAME may be sent to: implicitly allowed.
  void add_secret_hosts(std::string_view secret_name, const std::vector<Rule>& hosts);
  // [network.services]: SERVICE.name must be valid (is_valid_service_name) and unique.
  void add_service(HostService service);
  // Rules from elsewhere (the machine's policy.toml), named SOURCE in decisions.
  void add_rules(Verdict verdict, const std::vector<Rule>& rules, std::string_view source);

  // A TCP flow to NAME:PORT (NAME resolved through our DNS).
  Decision decide_name(std::string_view name, uint16_t port) const;
  // A TCP flow to a raw address the guest dialed itself.
  Decision decide_address(Ipv4 address, uint16_t port) const;
  // A name for DNS: answered when some allow rule could admit it on some port
  // and no port-less deny rule refuses it.
  Decision decide_dns(std::string_view name) const;
  // The host-side resolution of an allowed name gave ADDRESS: refused when it is
  // private and block_private is on, unless a CIDR allow rule covers it.
  Decision check_upstream_address(std::string_view name, Ipv4 address, uint16_t port) const;

  BlockPrivate block_private() const { return m_block_private; }
  // The service NAME:PORT is (NAME canonical), or null: where its flows are connected.
  const HostService* find_service(std::string_view name, uint16_t port) const;
  const std::vector<HostService>& services() const { return m_services; }

 private:
  const SourcedRule* find_deny(std::string_view host, uint16_t port) const;
  const SourcedRule* find_allow(std::string_view host, uint16_t port) const;
  Decision decide_service(const std::string& host, uint16_t port) const;

  std::vector<SourcedRule> m_allow;  // network.allow then secret hosts
  std::vector<SourcedRule> m_deny;
  BlockPrivate m_block_private = BlockPrivate::Yes;
  std::vector<HostService> m_services;
};

// "host" or "host:port" or "a.b.c.d[:port]" as typed on the command line (`net why`).
struct Target {
  std::string host;
  uint16_t port = 0;  // 0 = not given
};
std::optional<Target> parse_target(std::string_view text);
// The allow entry that would admit HOST:PORT (for `net suggest` and 403 bodies):
// a name for ports 80/443, NAME:PORT otherwise; ADDR/32[:PORT] for addresses.
std::string suggest_rule(std::string_view host, uint16_t port);
// How to allow HOST:PORT after DECISION refused it, one sentence: add an allow entry,
// remove a deny entry, or declare a host service.
std::string allow_hint(std::string_view host, uint16_t port, const Decision& decision);
// The body of a 403 for a refused destination: what was refused, why, and how to allow it.
// HOST must be a valid host name or address (it is shown to the guest and the user).
std::string refusal_body(std::string_view host, uint16_t port, const Decision& decision);

}  // namespace net
