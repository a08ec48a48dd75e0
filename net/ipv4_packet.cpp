#include "net/ipv4_packet.hpp"

#include "net/bytes.hpp"
#include "net/checksum.hpp"

namespace net {

std::optional<Ipv4Packet> parse_ipv4_packet(std::span<const uint8_t> d) {
  if (d.size() < 20 || (d[0] >> 4) != 4) return std::nullopt;
  size_t ihl = static_cast<size_t>(d[0] & 0x0fu) * 4;
  uint16_t total = load_be16(d.data() + 2);
  if (ihl < 20 || total < ihl || total > d.size()) return std::nullopt;
  if (internet_checksum(d.first(ihl)) != 0) return std::nullopt;
  Ipv4Packet p;
  uint16_t frag = load_be16(d.data() + 6);
  p.fragment = (frag & 0x2000) != 0 || (frag & 0x1fff) != 0;
  p.ttl = d[8];
  p.protocol = d[9];
  p.src = Ipv4{load_be32(d.data() + 12)};
  p.dst = Ipv4{load_be32(d.data() + 16)};
  p.payload = d.subspan(ihl, total - ihl);
  return p;
}

void write_ipv4_header(uint8_t* o, Ipv4 src, Ipv4 dst, IpProtocol protocol, uint16_t payload_length, uint16_t id) {
  o[0] = 0x45;
  o[1] = 0;
  store_be16(o + 2, static_cast<uint16_t>(k_ipv4_header + payload_length));
  store_be16(o + 4, id);
  store_be16(o + 6, 0x4000);  // DF
  o[8] = 64;
  o[9] = static_cast<uint8_t>(protocol);
  store_be16(o + 10, 0);
  store_be32(o + 12, src.value);
  store_be32(o + 16, dst.value);
  store_be16(o + 10, internet_checksum({o, k_ipv4_header}));
}

}  // namespace net
