#include "net/buffer_pool.hpp"

#include <sys/mman.h>

namespace net {

namespace {
// Free blocks kept mapped so a busy flow does not map and unmap at every ACK: 1 MiB.
constexpr size_t k_max_spare = 64;
}  // namespace

BufferPool::BufferPool(size_t budget, size_t reserve)
    : m_budget(budget < 2 * k_block ? 2 * k_block : budget), m_reserve(reserve < m_budget ? reserve : m_budget / 2) {}

BufferPool::~BufferPool() { trim(); }

uint8_t* BufferPool::take(bool first) {
  size_t limit = first ? m_budget : m_budget - m_reserve;
  if (bytes_in_use() + k_block > limit) return nullptr;
  uint8_t* block = nullptr;
  if (!m_spare.empty()) {
    block = m_spare.back();
    m_spare.pop_back();
  } else {
    void* p = ::mmap(nullptr, k_block, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    block = static_cast<uint8_t*>(p);
  }
  ++m_blocks;
  return block;
}

void BufferPool::give(uint8_t* block) {
  --m_blocks;
  m_released = true;
  if (m_spare.size() < k_max_spare) {
    m_spare.push_back(block);
    return;
  }
  ::munmap(block, k_block);
}

bool BufferPool::charge(size_t bytes) {
  if (bytes_in_use() + bytes > m_budget - m_reserve) return false;
  m_charged += bytes;
  return true;
}

void BufferPool::uncharge(size_t bytes) {
  m_charged -= bytes < m_charged ? bytes : m_charged;
  m_released = true;
}

size_t BufferPool::growth_room() const {
  size_t limit = m_budget - m_reserve;
  return bytes_in_use() >= limit ? 0 : limit - bytes_in_use();
}

void BufferPool::trim() {
  for (uint8_t* block : m_spare) ::munmap(block, k_block);
  m_spare.clear();
  m_spare.shrink_to_fit();
}

bool BufferPool::released_since_check() {
  bool r = m_released;
  m_released = false;
  return r;
}

}  // namespace net
