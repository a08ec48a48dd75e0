// ARP for IPv4 over Ethernet (RFC 826): requests parsed, replies built.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "net/ethernet.hpp"
#include "net/ipv4.hpp"

namespace net {

enum class ArpOp : uint16_t { Request = 1, Reply = 2 };

struct ArpPacket {
  ArpOp op = ArpOp::Request;
  MacAddress sender_mac{};
  Ipv4 sender_ip;
  MacAddress target_mac{};
  Ipv4 target_ip;
};

// The ARP payload of an Ethernet frame; nullopt unless Ethernet/IPv4 with op 1 or 2.
std::optional<ArpPacket> parse_arp(std::span<const uint8_t> payload);
// A whole Ethernet frame carrying `packet`, sent from `packet.sender_mac` to `dst`.
std::vector<uint8_t> build_arp_frame(const ArpPacket& packet, const MacAddress& dst);

}  // namespace net
