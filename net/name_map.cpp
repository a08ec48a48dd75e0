#include "net/name_map.hpp"

#include "net/hostname.hpp"

namespace net {

NameMap::NameMap(Cidr pool) : m_pool(pool) {}

std::string NameMap::normalize(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::optional<Ipv4> NameMap::address_for(std::string_view name) {
  std::string key = normalize(name);
  if (!is_valid_hostname(key)) return std::nullopt;
  std::lock_guard lock(m_mutex);
  if (auto it = m_by_name.find(key); it != m_by_name.end()) return it->second;
  uint64_t size = uint64_t{1} << (32 - m_pool.prefix);
  if (m_next + 1 >= size) return std::nullopt;  // keep the broadcast-looking last address free
  Ipv4 address{m_pool.base.value + m_next++};
  m_by_name.emplace(key, address);
  m_by_address.emplace(address.value, std::move(key));
  return address;
}

std::optional<std::string> NameMap::name_for(Ipv4 address) const {
  std::lock_guard lock(m_mutex);
  auto it = m_by_address.find(address.value);
  if (it == m_by_address.end()) return std::nullopt;
  return it->second;
}

}  // namespace net
