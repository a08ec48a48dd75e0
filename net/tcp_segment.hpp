// TCP segments (RFC 9293): header, the MSS and window-scale options, checksum.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "net/ipv4.hpp"

namespace net {

namespace tcp_flag {
inline constexpr uint8_t k_fin = 0x01, k_syn = 0x02, k_rst = 0x04, k_psh = 0x08, k_ack = 0x10;
}

struct TcpSegment {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  std::optional<uint16_t> mss;    // SYN option
  std::optional<uint8_t> wscale;  // SYN option (clamped to 14)
  bool sack_permitted = false;    // SYN option
  std::span<const uint8_t> payload;
  bool has(uint8_t flag) const { return (flags & flag) != 0; }
};

// `data` is the IP payload; nullopt on a short/bad header or a checksum mismatch.
std::optional<TcpSegment> parse_tcp(std::span<const uint8_t> data, Ipv4 src, Ipv4 dst);

// What we send: MSS/window scale/SACK-permitted on SYN-ACK, SACK blocks on ACKs.
struct TcpHeaderOut {
  uint16_t src_port = 0, dst_port = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  std::optional<uint16_t> mss;
  std::optional<uint8_t> wscale;
  bool sack_permitted = false;
  // SACK blocks [left, right) (RFC 2018), at most 4 (no timestamps, so they fit in 40 bytes).
  uint8_t sack_count = 0;
  uint32_t sack[4][2] = {};
};

size_t tcp_header_length(const TcpHeaderOut& h);
// Writes the header at out[0..tcp_header_length) and the checksum over header + payload, where
// the payload already sits right after the header.
void write_tcp_header(uint8_t* out, const TcpHeaderOut& h, Ipv4 src, Ipv4 dst, size_t payload_length);

}  // namespace net
