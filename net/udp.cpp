#include "net/udp.hpp"

#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/ipv4_packet.hpp"

namespace net {

std::optional<UdpDatagram> parse_udp(std::span<const uint8_t> d, Ipv4 src, Ipv4 dst) {
  if (d.size() < k_udp_header) return std::nullopt;
  uint16_t length = load_be16(d.data() + 4);
  if (length < k_udp_header || length > d.size()) return std::nullopt;
  if (load_be16(d.data() + 6) != 0) {
    Checksum c;
    c.add_pseudo(src, dst, static_cast<uint8_t>(IpProtocol::Udp), length);
    c.add(d.first(length));
    if (c.finish() != 0) return std::nullopt;
  }
  return UdpDatagram{load_be16(d.data()), load_be16(d.data() + 2), d.subspan(k_udp_header, length - k_udp_header)};
}

void write_udp_header(uint8_t* o, Ipv4 src, Ipv4 dst, uint16_t src_port, uint16_t dst_port, uint16_t payload_length) {
  uint16_t length = static_cast<uint16_t>(k_udp_header + payload_length);
  store_be16(o, src_port);
  store_be16(o + 2, dst_port);
  store_be16(o + 4, length);
  store_be16(o + 6, 0);
  Checksum c;
  c.add_pseudo(src, dst, static_cast<uint8_t>(IpProtocol::Udp), length);
  c.add({o, length});
  uint16_t sum = c.finish();
  store_be16(o + 6, sum == 0 ? 0xffff : sum);
}

}  // namespace net
