#include "net/arp.hpp"

#include <algorithm>

#include "net/bytes.hpp"

namespace net {

std::optional<ArpPacket> parse_arp(std::span<const uint8_t> p) {
  if (p.size() < 28) return std::nullopt;
  if (load_be16(p.data()) != 1 || load_be16(p.data() + 2) != 0x0800 || p[4] != 6 || p[5] != 4) return std::nullopt;
  uint16_t op = load_be16(p.data() + 6);
  if (op != 1 && op != 2) return std::nullopt;
  ArpPacket a;
  a.op = static_cast<ArpOp>(op);
  std::copy_n(p.data() + 8, 6, a.sender_mac.begin());
  a.sender_ip = Ipv4{load_be32(p.data() + 14)};
  std::copy_n(p.data() + 18, 6, a.target_mac.begin());
  a.target_ip = Ipv4{load_be32(p.data() + 24)};
  return a;
}

std::vector<uint8_t> build_arp_frame(const ArpPacket& a, const MacAddress& dst) {
  std::vector<uint8_t> f(k_ethernet_header + 28);
  write_ethernet_header(f.data(), dst, a.sender_mac, EtherType::Arp);
  uint8_t* p = f.data() + k_ethernet_header;
  store_be16(p, 1);
  store_be16(p + 2, 0x0800);
  p[4] = 6;
  p[5] = 4;
  store_be16(p + 6, static_cast<uint16_t>(a.op));
  std::copy(a.sender_mac.begin(), a.sender_mac.end(), p + 8);
  store_be32(p + 14, a.sender_ip.value);
  std::copy(a.target_mac.begin(), a.target_mac.end(), p + 18);
  store_be32(p + 24, a.target_ip.value);
  return f;
}

}  // namespace net
