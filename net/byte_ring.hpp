// ByteRing: a fixed-capacity FIFO of bytes (one allocation), read and written in place.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace net {

class ByteRing {
 public:
  explicit ByteRing(size_t capacity) : m_buf(capacity) {}
  size_t size() const { return m_size; }
  size_t capacity() const { return m_buf.size(); }
  size_t free() const { return m_buf.size() - m_size; }
  bool empty() const { return m_size == 0; }

  // The largest contiguous writable region at the tail; commit() what was written.
  std::span<uint8_t> tail_space() {
    if (m_size == m_buf.size()) return {};
    size_t tail = (m_head + m_size) % m_buf.size();
    size_t len = tail >= m_head ? m_buf.size() - tail : m_head - tail;
    return {m_buf.data() + tail, len};
  }
  void commit(size_t n) { m_size += n; }

  size_t push(std::span<const uint8_t> data) {
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

  // The contiguous readable region starting `offset` bytes after the head.
  std::span<const uint8_t> peek(size_t offset = 0) const {
    if (offset >= m_size) return {};
    size_t start = (m_head + offset) % m_buf.size();
    size_t len = std::min(m_size - offset, m_buf.size() - start);
    return {m_buf.data() + start, len};
  }
  // Copies `len` bytes starting at `offset` into out.
  void copy_out(size_t offset, size_t len, uint8_t* out) const {
    while (len > 0) {
      auto chunk = peek(offset);
      size_t n = std::min(len, chunk.size());
      std::memcpy(out, chunk.data(), n);
      out += n;
      offset += n;
      len -= n;
    }
  }
  void consume(size_t n) {
    n = std::min(n, m_size);
    m_head = (m_head + n) % m_buf.size();
    m_size -= n;
    if (m_size == 0) m_head = 0;
  }

 private:
  std::vector<uint8_t> m_buf;
  size_t m_head = 0;
  size_t m_size = 0;
};

}  // namespace net
