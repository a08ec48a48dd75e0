#include "net/byte_ring.hpp"

#include <algorithm>
#include <cstring>

namespace net {

size_t ByteRing::free() const {
  size_t room = held() - m_head - m_size;  // in the blocks already held
  if (m_blocks.empty()) room = k_block;    // a ring's first block is granted from the reserve
  room += m_pool.growth_room() / k_block * k_block;
  return std::min(room, m_limit - m_size);
}

std::span<uint8_t> ByteRing::tail_space() {
  if (m_size >= m_limit) return {};
  size_t end = m_head + m_size;
  if (end == held()) {
    uint8_t* block = m_pool.take(m_blocks.empty());
    m_starved = block == nullptr;
    if (!block) return {};
    m_blocks.push_back(block);
  }
  size_t within = end % k_block;
  size_t len = std::min(k_block - within, m_limit - m_size);
  return {m_blocks[end / k_block] + within, len};
}

size_t ByteRing::push(std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    auto space = tail_space();
    if (space.empty()) break;
    size_t n = std::min(space.size(), data.size() - done);
    std::memcpy(space.data(), data.data() + done, n);
    commit(n);
    done += n;
  }
  return done;
}

std::span<const uint8_t> ByteRing::peek(size_t offset) const {
  if (offset >= m_size) return {};
  size_t pos = m_head + offset;
  size_t within = pos % k_block;
  size_t len = std::min(k_block - within, m_size - offset);
  return {m_blocks[pos / k_block] + within, len};
}

void ByteRing::copy_out(size_t offset, size_t len, uint8_t* out) const {
  while (len > 0) {
    auto chunk = peek(offset);
    if (chunk.empty()) return;
    size_t n = std::min(len, chunk.size());
    std::memcpy(out, chunk.data(), n);
    out += n;
    offset += n;
    len -= n;
  }
}

void ByteRing::consume(size_t n) {
  n = std::min(n, m_size);
  m_head += n;
  m_size -= n;
  size_t done = m_size == 0 ? m_blocks.size() : m_head / k_block;
  for (size_t i = 0; i < done; ++i) m_pool.give(m_blocks[i]);
  if (done > 0) m_blocks.erase(m_blocks.begin(), m_blocks.begin() + static_cast<ptrdiff_t>(done));
  m_head = m_size == 0 ? 0 : m_head % k_block;
  if (m_blocks.empty()) m_blocks.shrink_to_fit();
}

void ByteRing::release() {
  for (uint8_t* block : m_blocks) m_pool.give(block);
  m_blocks.clear();
  m_blocks.shrink_to_fit();
  m_head = m_size = 0;
}

}  // namespace net
