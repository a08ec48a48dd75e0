#include "net/checksum.hpp"

#include "net/bytes.hpp"

namespace net {

void Checksum::add(std::span<const uint8_t> data) {
  size_t i = 0;
  if (m_odd && !data.empty()) {
    m_sum += data[0];
    i = 1;
    m_odd = false;
  }
  size_t n = data.size();
  // 8 bytes at a time: 2^16 = 1 (mod 2^16 - 1), so 32-bit big-endian halves fold to the same sum.
  for (; i + 7 < n; i += 8) {
    uint64_t v = (uint64_t{load_be32(data.data() + i)} << 32) | load_be32(data.data() + i + 4);
    m_sum += (v >> 32) + (v & 0xffffffffu);
  }
  for (; i + 1 < n; i += 2) m_sum += (uint32_t{data[i]} << 8) | data[i + 1];
  if (i < n) {
    m_sum += uint32_t{data[i]} << 8;
    m_odd = true;
  }
}

void Checksum::add_pseudo(Ipv4 src, Ipv4 dst, uint8_t protocol, uint16_t length) {
  m_sum += (src.value >> 16) + (src.value & 0xffff) + (dst.value >> 16) + (dst.value & 0xffff);
  m_sum += protocol;
  m_sum += length;
}

uint16_t Checksum::finish() const {
  uint64_t s = m_sum;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(~s);
}

uint16_t internet_checksum(std::span<const uint8_t> data) {
  Checksum c;
  c.add(data);
  return c.finish();
}

}  // namespace net
