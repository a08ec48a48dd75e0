// Shared by the fuzz targets (tests/fuzz/*_fuzz.cpp): FUZZ_CHECK for invariants (aborts, so
// libFuzzer and the corpus replay both report it), and FuzzInput, which takes structured
// values off the front of the input (libFuzzer's FuzzedDataProvider is clang-only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                     \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

namespace fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : m_data(data), m_size(size) {}

  bool empty() const { return m_pos >= m_size; }
  size_t remaining() const { return m_size - m_pos; }
  // 0 once the input is used up.
  uint8_t u8() { return m_pos < m_size ? m_data[m_pos++] : 0; }
  // Little-endian; one statement per read (the operands of | are unsequenced).
  uint16_t u16() {
    uint16_t lo = u8();
    return static_cast<uint16_t>(lo | (u8() << 8));
  }
  uint32_t u32() {
    uint32_t lo = u16();
    return lo | (uint32_t{u16()} << 16);
  }
  uint64_t u64() {
    uint64_t lo = u32();
    return lo | (uint64_t{u32()} << 32);
  }
  bool flag() { return (u8() & 1) != 0; }
  // Up to N bytes (fewer at the end of the input).
  std::span<const uint8_t> bytes(size_t n) {
    n = std::min(n, remaining());
    std::span<const uint8_t> out(m_data + m_pos, n);
    m_pos += n;
    return out;
  }
  std::string_view text(size_t n) {
    auto b = bytes(n);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  // A length byte (or u16 when WIDE), then that many bytes.
  std::string_view chunk(bool wide = false) { return text(wide ? u16() : u8()); }
  std::string_view rest() { return text(remaining()); }

 private:
  const uint8_t* m_data;
  size_t m_size;
  size_t m_pos = 0;
};

}  // namespace fuzz
