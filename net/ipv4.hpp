// IPv4 addresses and CIDR blocks, parsed strictly (no octal, no short forms).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace net {

struct Ipv4 {
  uint32_t value = 0;  // host byte order
  std::string to_string() const;
  bool operator==(const Ipv4&) const = default;
};

struct Cidr {
  Ipv4 base;        // masked network address
  int prefix = 32;  // 0..32
  bool contains(Ipv4 a) const;
  std::string to_string() const;
  bool operator==(const Cidr&) const = default;
};

std::optional<Ipv4> parse_ipv4(std::string_view text);
// "10.0.0.0/8", or a bare address (prefix 32). Host bits set are an error.
std::optional<Cidr> parse_cidr(std::string_view text, std::string* why = nullptr);

}  // namespace net
