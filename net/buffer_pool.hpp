// BufferPool: the memory behind every flow's byte rings in one net::Stack (one sandbox).
//
// Fixed 16 KiB blocks, each its own anonymous mapping, unmapped once free (a few are kept for
// reuse), so what the guest made us buffer goes back to the OS as soon as it is delivered —
// malloc would keep it. One budget bounds the whole pool: ring blocks plus the bytes of
// out-of-order segments. Blocks beyond a ring's first come only from the budget minus a
// reserve, so a flood of flows that hold data cannot take the first block every other flow
// needs to make progress. A ring refused a block stalls (backpressure: its window closes, or
// it stops reading its socketpair) until the stack resumes it after blocks were released.
// Single-threaded: owned and used by the stack's loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace net {

class BufferPool {
 public:
  static constexpr size_t k_block = 16 * 1024;

  // BUDGET bytes in all; blocks other than a ring's first stop at BUDGET - RESERVE.
  BufferPool(size_t budget, size_t reserve);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A block for a ring that holds none (FIRST) or some; nullptr when the budget refuses.
  uint8_t* take(bool first);
  void give(uint8_t* block);
  // Bytes held outside blocks (out-of-order segments), from the same budget as non-first blocks.
  bool charge(size_t bytes);
  void uncharge(size_t bytes);
  // Bytes a ring that holds blocks could still be granted now.
  size_t growth_room() const;

  size_t bytes_in_use() const { return m_blocks * k_block + m_charged; }
  // Unmaps the blocks kept for reuse.
  void trim();
  // Whether blocks or bytes were released since the last call (starved rings may resume).
  bool released_since_check();

 private:
  size_t m_budget;
  size_t m_reserve;
  size_t m_blocks = 0;            // blocks held by rings
  size_t m_charged = 0;           // bytes charged outside blocks
  std::vector<uint8_t*> m_spare;  // free blocks kept mapped for reuse
  bool m_released = false;
};

}  // namespace net
