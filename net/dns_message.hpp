// DNS messages (RFC 1035), only what a stub resolver's query needs: one question in, a response
// with at most one A record out. Names in the question must be uncompressed (as stubs send them).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "net/ipv4.hpp"

namespace net {

namespace dns_type {
inline constexpr uint16_t k_a = 1, k_aaaa = 28;
}
inline constexpr uint16_t k_dns_class_in = 1;

enum class DnsRcode : uint8_t { NoError = 0, FormErr = 1, ServFail = 2, NxDomain = 3, NotImp = 4, Refused = 5 };

struct DnsQuery {
  uint16_t id = 0;
  uint8_t opcode = 0;
  bool recursion_desired = false;
  // Presentation form: lower-case, dot-separated, no trailing dot ("" for the root); a label
  // byte other than a letter, digit or '-' appears as \DDD (so the name is then invalid).
  std::string name;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  std::span<const uint8_t> question;  // the raw question section, echoed in the response
};

enum class DnsParse { Ok, NotAQuery, Malformed };

// Parses a query. Malformed with a readable header leaves `id` set so a FORMERR can be sent;
// NotAQuery (a response, or too short for a header) should be dropped.
DnsParse parse_dns_query(std::span<const uint8_t> message, DnsQuery& out);

// A response to `query` with `rcode` and, when `answer` is set, one A record (TTL `ttl`).
std::vector<uint8_t> build_dns_response(const DnsQuery& query, DnsRcode rcode, std::optional<Ipv4> answer,
                                        uint32_t ttl);

}  // namespace net
