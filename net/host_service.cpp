#include "net/host_service.hpp"

#include <charconv>

namespace net {

bool is_valid_service_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(name.front() >= 'a' && name.front() <= 'z') || name.back() == '-') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

bool in_service_domain(std::string_view host) {
  if (host == k_service_domain) return true;
  return host.size() > k_service_domain.size() && host.ends_with(k_service_domain) &&
         host[host.size() - k_service_domain.size() - 1] == '.';
}

std::optional<ServiceTarget> parse_service_target(std::string_view text, std::string* why) {
  auto fail = [&](std::string reason) -> std::optional<ServiceTarget> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return fail("must be ADDRESS:PORT (\"127.0.0.1:5432\")");
  auto address = parse_ipv4(text.substr(0, colon));
  if (!address)
    return fail(
        "the address must be an IPv4 address such as 127.0.0.1 (names are not resolved: a host "
        "service is one fixed endpoint)");
  uint8_t first = static_cast<uint8_t>(address->value >> 24);
  if (first == 0 || first >= 224)
    return fail("the address " + address->to_string() +
                " cannot be connected to (0/8, multicast, 240/4 and "
                "broadcast are refused)");
  std::string_view p = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || port == 0 || port > 65535)
    return fail("the port must be 1..65535");
  return ServiceTarget{*address, static_cast<uint16_t>(port)};
}

}  // namespace net
