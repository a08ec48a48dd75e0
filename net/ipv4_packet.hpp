// IPv4 datagrams (RFC 791): header parsed and checked; fragments are refused (the stack drops
// them: guests send with DF and our MTU matches theirs).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "net/ipv4.hpp"

namespace net {

inline constexpr size_t k_ipv4_header = 20;  // what we emit (no options)

enum class IpProtocol : uint8_t { Icmp = 1, Tcp = 6, Udp = 17 };

struct Ipv4Packet {
  Ipv4 src;
  Ipv4 dst;
  uint8_t protocol = 0;
  uint8_t ttl = 0;
  bool fragment = false;             // MF set or offset != 0
  std::span<const uint8_t> payload;  // trimmed to total length (Ethernet padding removed)
};

// nullopt on a malformed header, a bad checksum or a total length beyond the buffer.
std::optional<Ipv4Packet> parse_ipv4_packet(std::span<const uint8_t> data);
// Writes a 20-byte header (DF set, TTL 64) with its checksum at out[0..20).
void write_ipv4_header(uint8_t* out, Ipv4 src, Ipv4 dst, IpProtocol protocol, uint16_t payload_length, uint16_t id);

}  // namespace net
