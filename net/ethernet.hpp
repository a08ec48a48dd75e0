// Ethernet II frames (no VLAN tags: a tagged frame is simply an unknown EtherType).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

namespace net {

using MacAddress = std::array<uint8_t, 6>;
inline constexpr MacAddress k_broadcast_mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
inline constexpr size_t k_ethernet_header = 14;

enum class EtherType : uint16_t { Ipv4 = 0x0800, Arp = 0x0806, Ipv6 = 0x86dd };

struct EthernetFrame {
  MacAddress dst{};
  MacAddress src{};
  uint16_t ether_type = 0;
  std::span<const uint8_t> payload;
};

std::optional<EthernetFrame> parse_ethernet(std::span<const uint8_t> frame);
// Writes the 14-byte header at out[0..14).
void write_ethernet_header(uint8_t* out, const MacAddress& dst, const MacAddress& src, EtherType type);

}  // namespace net
