// NameMap: per-sandbox mapping between allowed DNS names and synthetic IPv4 addresses.
// Pool: 198.18.0.0/15 (RFC 2544 benchmarking range; never routed on the internet, unlikely to
// clash with a LAN). Addresses are handed out in order from 198.18.0.1 and stay stable for the
// life of the map. Names are stored lower-case without a trailing dot. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "net/ipv4.hpp"

namespace net {

inline constexpr Cidr k_synthetic_pool{Ipv4{(198u << 24) | (18u << 16)}, 15};

class NameMap {
 public:
  explicit NameMap(Cidr pool = k_synthetic_pool);
  // The address for `name`, allocating one on first use; nullopt when the pool is exhausted
  // or `name` is not a valid host name (net/hostname.hpp).
  std::optional<Ipv4> address_for(std::string_view name);
  // The name behind a synthetic address, or nullopt.
  std::optional<std::string> name_for(Ipv4 address) const;
  bool is_synthetic(Ipv4 address) const { return m_pool.contains(address); }
  Cidr pool() const { return m_pool; }

  static std::string normalize(std::string_view name);

 private:
  Cidr m_pool;
  mutable std::mutex m_mutex;
  uint32_t m_next = 1;
  std::unordered_map<std::string, Ipv4> m_by_name;
  std::unordered_map<uint32_t, std::string> m_by_address;
};

}  // namespace net
