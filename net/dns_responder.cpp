#include "net/dns_responder.hpp"

#include "net/dns_message.hpp"
#include "net/hostname.hpp"

namespace net {

DnsResponder::DnsResponder(std::shared_ptr<NameMap> names, std::function<bool(std::string_view)> name_allowed,
                           uint32_t ttl)
    : m_names(std::move(names)), m_name_allowed(std::move(name_allowed)), m_ttl(ttl) {}

std::optional<std::vector<uint8_t>> DnsResponder::answer(std::span<const uint8_t> message) {
  DnsQuery q;
  DnsParse parsed = parse_dns_query(message, q);
  if (parsed == DnsParse::NotAQuery) return std::nullopt;
  ++m_stats.queries;
  if (parsed == DnsParse::Malformed) {
    q.question = {};
    return build_dns_response(q, DnsRcode::FormErr, std::nullopt, 0);
  }
  if (q.opcode != 0) return build_dns_response(q, DnsRcode::NotImp, std::nullopt, 0);
  // The filter sees (and audits) every name; an invalid one is refused whatever it says.
  bool allowed = q.qclass == k_dns_class_in && !q.name.empty() && m_name_allowed && m_name_allowed(q.name) &&
                 is_valid_hostname(q.name);
  if (!allowed) {
    ++m_stats.denied;
    return build_dns_response(q, DnsRcode::NxDomain, std::nullopt, 0);
  }
  ++m_stats.allowed;
  if (q.qtype != dns_type::k_a) return build_dns_response(q, DnsRcode::NoError, std::nullopt, m_ttl);
  std::optional<Ipv4> address = m_names->address_for(q.name);
  if (!address) return build_dns_response(q, DnsRcode::ServFail, std::nullopt, 0);  // pool exhausted
  return build_dns_response(q, DnsRcode::NoError, address, m_ttl);
}

}  // namespace net
