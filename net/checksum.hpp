// The Internet checksum (RFC 1071), incrementally over several spans.
#pragma once

#include <cstdint>
#include <span>

#include "net/ipv4.hpp"

namespace net {

class Checksum {
 public:
  void add(std::span<const uint8_t> data);
  void add16(uint16_t v) { m_sum += v; }
  // Adds the IPv4 pseudo-header of TCP/UDP.
  void add_pseudo(Ipv4 src, Ipv4 dst, uint8_t protocol, uint16_t length);
  uint16_t finish() const;  // the value to store (big-endian) in the header

 private:
  uint64_t m_sum = 0;
  bool m_odd = false;  // the previous span ended on an odd byte
};

uint16_t internet_checksum(std::span<const uint8_t> data);

}  // namespace net
