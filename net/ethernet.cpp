#include "net/ethernet.hpp"

#include <algorithm>

#include "net/bytes.hpp"

namespace net {

std::optional<EthernetFrame> parse_ethernet(std::span<const uint8_t> frame) {
  if (frame.size() < k_ethernet_header) return std::nullopt;
  EthernetFrame f;
  std::copy_n(frame.data(), 6, f.dst.begin());
  std::copy_n(frame.data() + 6, 6, f.src.begin());
  f.ether_type = load_be16(frame.data() + 12);
  f.payload = frame.subspan(k_ethernet_header);
  return f;
}

void write_ethernet_header(uint8_t* out, const MacAddress& dst, const MacAddress& src, EtherType type) {
  std::copy(dst.begin(), dst.end(), out);
  std::copy(src.begin(), src.end(), out + 6);
  store_be16(out + 12, static_cast<uint16_t>(type));
}

}  // namespace net
