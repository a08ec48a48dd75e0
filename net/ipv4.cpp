#include "net/ipv4.hpp"

#include <charconv>

namespace net {

std::string Ipv4::to_string() const {
  return std::to_string(value >> 24) + "." + std::to_string((value >> 16) & 255) + "." +
         std::to_string((value >> 8) & 255) + "." + std::to_string(value & 255);
}

static uint32_t mask_of(int prefix) { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }

bool Cidr::contains(Ipv4 a) const { return (a.value & mask_of(prefix)) == base.value; }

std::string Cidr::to_string() const { return base.to_string() + "/" + std::to_string(prefix); }

std::optional<Ipv4> parse_ipv4(std::string_view text) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    size_t end = i < 3 ? text.find('.') : text.size();
    if (end == std::string_view::npos || end == 0 || end > 3) return std::nullopt;
    auto part = text.substr(0, end);
    if (part.size() > 1 && part[0] == '0') return std::nullopt;  // no octal-looking forms
    unsigned octet = 0;
    auto [p, ec] = std::from_chars(part.data(), part.data() + part.size(), octet);
    if (ec != std::errc() || p != part.data() + part.size() || octet > 255) return std::nullopt;
    value = (value << 8) | octet;
    text.remove_prefix(i < 3 ? end + 1 : end);
  }
  return Ipv4{value};
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string* why) {
  auto set_why = [&](const char* w) {
    if (why) *why = w;
    return std::nullopt;
  };
  auto slash = text.find('/');
  auto addr = parse_ipv4(text.substr(0, slash));
  if (!addr) return set_why("not an IPv4 address");
  int prefix = 32;
  if (slash != std::string_view::npos) {
    auto p = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || prefix < 0 || prefix > 32)
      return set_why("prefix length must be 0..32");
  }
  if ((addr->value & ~mask_of(prefix)) != 0) return set_why("host bits set below the prefix length");
  return Cidr{*addr, prefix};
}

}  // namespace net
