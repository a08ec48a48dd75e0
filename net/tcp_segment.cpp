#include "net/tcp_segment.hpp"

#include <algorithm>

#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/ipv4_packet.hpp"

namespace net {

static void parse_options(std::span<const uint8_t> o, TcpSegment& s) {
  size_t i = 0;
  while (i < o.size()) {
    uint8_t kind = o[i];
    if (kind == 0) return;  // end of options
    if (kind == 1) {        // no-op
      ++i;
      continue;
    }
    if (i + 1 >= o.size()) return;
    size_t len = o[i + 1];
    if (len < 2 || i + len > o.size()) return;
    if (kind == 2 && len == 4) s.mss = load_be16(o.data() + i + 2);
    if (kind == 3 && len == 3) s.wscale = std::min<uint8_t>(o[i + 2], 14);
    if (kind == 4 && len == 2) s.sack_permitted = true;
    i += len;
  }
}

std::optional<TcpSegment> parse_tcp(std::span<const uint8_t> d, Ipv4 src, Ipv4 dst) {
  if (d.size() < 20) return std::nullopt;
  size_t offset = static_cast<size_t>(d[12] >> 4) * 4;
  if (offset < 20 || offset > d.size()) return std::nullopt;
  Checksum c;
  c.add_pseudo(src, dst, static_cast<uint8_t>(IpProtocol::Tcp), static_cast<uint16_t>(d.size()));
  c.add(d);
  if (c.finish() != 0) return std::nullopt;
  TcpSegment s;
  s.src_port = load_be16(d.data());
  s.dst_port = load_be16(d.data() + 2);
  s.seq = load_be32(d.data() + 4);
  s.ack = load_be32(d.data() + 8);
  s.flags = d[13] & 0x3f;
  s.window = load_be16(d.data() + 14);
  if (s.has(tcp_flag::k_syn)) parse_options(d.subspan(20, offset - 20), s);
  s.payload = d.subspan(offset);
  return s;
}

size_t tcp_header_length(const TcpHeaderOut& h) {
  return 20 + (h.mss ? 4 : 0) + (h.wscale ? 4 : 0) + (h.sack_permitted ? 4 : 0) +
         (h.sack_count ? 4 + 8 * size_t{h.sack_count} : 0);
}

void write_tcp_header(uint8_t* o, const TcpHeaderOut& h, Ipv4 src, Ipv4 dst, size_t payload_length) {
  size_t hl = tcp_header_length(h);
  store_be16(o, h.src_port);
  store_be16(o + 2, h.dst_port);
  store_be32(o + 4, h.seq);
  store_be32(o + 8, h.ack);
  o[12] = static_cast<uint8_t>((hl / 4) << 4);
  o[13] = h.flags;
  store_be16(o + 14, h.window);
  store_be16(o + 16, 0);
  store_be16(o + 18, 0);
  uint8_t* opt = o + 20;
  if (h.mss) {
    opt[0] = 2;
    opt[1] = 4;
    store_be16(opt + 2, *h.mss);
    opt += 4;
  }
  if (h.wscale) {
    opt[0] = 1;  // NOP for alignment
    opt[1] = 3;
    opt[2] = 3;
    opt[3] = *h.wscale;
    opt += 4;
  }
  if (h.sack_permitted) {
    opt[0] = 1;
    opt[1] = 1;
    opt[2] = 4;
    opt[3] = 2;
    opt += 4;
  }
  if (h.sack_count) {
    opt[0] = 1;
    opt[1] = 1;
    opt[2] = 5;
    opt[3] = static_cast<uint8_t>(2 + 8 * h.sack_count);
    for (size_t k = 0; k < h.sack_count; ++k) {
      store_be32(opt + 4 + 8 * k, h.sack[k][0]);
      store_be32(opt + 8 + 8 * k, h.sack[k][1]);
    }
  }
  Checksum c;
  c.add_pseudo(src, dst, static_cast<uint8_t>(IpProtocol::Tcp), static_cast<uint16_t>(hl + payload_length));
  c.add({o, hl + payload_length});
  store_be16(o + 16, c.finish());
}

}  // namespace net
