// DnsResponder: the gateway's DNS server. Nothing is ever forwarded:
//   allowed name, A     -> one A record with the name's synthetic address (NameMap)
//   allowed name, other -> NOERROR with no records (AAAA included: the guest is IPv4-only)
//   any other name      -> NXDOMAIN (so is every name that is not a valid host name:
//                          net/hostname.hpp; such names reach no NameMap and no resolver)
//   malformed           -> FORMERR; non-QUERY opcode -> NOTIMP; a response -> dropped
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "net/name_map.hpp"

namespace net {

struct DnsStats {
  uint64_t queries = 0, allowed = 0, denied = 0;
};

class DnsResponder {
 public:
  DnsResponder(std::shared_ptr<NameMap> names, std::function<bool(std::string_view)> name_allowed, uint32_t ttl);
  // The response to send back, or nullopt to drop the message.
  std::optional<std::vector<uint8_t>> answer(std::span<const uint8_t> query);
  const DnsStats& stats() const { return m_stats; }

 private:
  std::shared_ptr<NameMap> m_names;
  std::function<bool(std::string_view)> m_name_allowed;
  uint32_t m_ttl;
  DnsStats m_stats;
};

}  // namespace net
