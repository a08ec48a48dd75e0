// net::Stream over memory for the HTTP fuzz targets: reads hand out the input in pieces of
// varying size (so every buffer boundary of BufferedReader is hit), writes are collected.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include "net/proxy_stream.hpp"

namespace fuzz {

class MemoryStream : public net::Stream {
 public:
  // Read sizes cycle through 1..16, 4096 and everything, starting at STEP.
  MemoryStream(std::string_view in, uint8_t step) : m_in(in), m_step(step) {}

  util::Result<size_t> read(std::span<char> buf) override {
    static constexpr size_t k_sizes[] = {1, 2, 3, 5, 7, 16, 4096, ~size_t{0}};
    size_t n = std::min({buf.size(), m_in.size() - m_pos, k_sizes[m_step++ % std::size(k_sizes)]});
    std::copy_n(m_in.data() + m_pos, n, buf.data());
    m_pos += n;
    return n;
  }
  util::Result<void> write(std::string_view data) override {
    if (m_shut) return util::make_error(util::ErrorCode::Network, "write after shutdown");
    m_out.append(data);
    return util::ok();
  }
  void shutdown_write() override { m_shut = true; }
  int fd() const override { return -1; }
  bool has_buffered() const override { return m_pos < m_in.size(); }

  const std::string& written() const { return m_out; }
  void clear_written() { m_out.clear(); }
  // Bytes handed out by read() so far.
  size_t consumed() const { return m_pos; }

 private:
  std::string_view m_in;
  size_t m_pos = 0;
  uint8_t m_step;
  std::string m_out;
  bool m_shut = false;
};

}  // namespace fuzz
