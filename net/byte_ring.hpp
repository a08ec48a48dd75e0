// ByteRing: a FIFO of bytes up to a fixed limit, stored in BufferPool blocks taken as data
// arrives and given back as it is consumed, so an idle or drained flow holds no buffer.
// Read and written in place: peek() and tail_space() are contiguous pieces (within a block).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "net/buffer_pool.hpp"

namespace net {

class ByteRing {
 public:
  ByteRing(BufferPool& pool, size_t limit) : m_pool(pool), m_limit(limit) {}
  ~ByteRing() { release(); }
  ByteRing(const ByteRing&) = delete;
  ByteRing& operator=(const ByteRing&) = delete;

  size_t size() const { return m_size; }
  size_t capacity() const { return m_limit; }
  bool empty() const { return m_size == 0; }
  // Bytes that can be added now: up to the limit, as far as held blocks and the pool allow.
  size_t free() const;
  // True when the last tail_space()/push() stopped short of the limit because the pool refused.
  bool starved() const { return m_starved; }

  // The largest contiguous writable region at the tail (may take a block); commit() what was
  // written. Empty when the limit is reached or the pool refuses a block.
  std::span<uint8_t> tail_space();
  void commit(size_t n) { m_size += n; }
  size_t push(std::span<const uint8_t> data);

  // The contiguous readable region starting `offset` bytes after the head (within one block).
  std::span<const uint8_t> peek(size_t offset = 0) const;
  // Copies `len` bytes starting at `offset` into out.
  void copy_out(size_t offset, size_t len, uint8_t* out) const;
  // Drops N bytes from the head; blocks emptied go back to the pool.
  void consume(size_t n);
  // Gives every block back and forgets the content.
  void release();

 private:
  static constexpr size_t k_block = BufferPool::k_block;
  size_t held() const { return m_blocks.size() * k_block; }

  BufferPool& m_pool;
  size_t m_limit;
  std::vector<uint8_t*> m_blocks;
  size_t m_head = 0;  // offset of the first byte in m_blocks[0]
  size_t m_size = 0;
  bool m_starved = false;
};

}  // namespace net
