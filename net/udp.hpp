// UDP (RFC 768) datagrams inside IPv4.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "net/ipv4.hpp"

namespace net {

inline constexpr size_t k_udp_header = 8;

struct UdpDatagram {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  std::span<const uint8_t> payload;
};

// `data` is the IP payload; the checksum (when non-zero) is verified against the pseudo-header.
std::optional<UdpDatagram> parse_udp(std::span<const uint8_t> data, Ipv4 src, Ipv4 dst);
// Writes an 8-byte header followed by nothing; the payload must already sit at out[8..).
void write_udp_header(uint8_t* out, Ipv4 src, Ipv4 dst, uint16_t src_port, uint16_t dst_port, uint16_t payload_length);

}  // namespace net
