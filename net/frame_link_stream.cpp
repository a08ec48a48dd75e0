// FrameLink over QEMU's `-netdev stream` socket: [4-byte big-endian length][frame], back to
// back; partial reads and writes are reassembled (docs/network.md). Output is queued up to a
// bound and frames beyond it are dropped whole, never cut (a cut frame desynchronises QEMU).
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "net/bytes.hpp"
#include "net/frame_link.hpp"
#include "util/descriptors.hpp"

namespace net {
namespace {

constexpr size_t k_in_buffer = 4 * k_max_frame;
constexpr size_t k_out_limit = 4 * 1024 * 1024;
// A drained output queue keeps at most this much memory (a burst toward a slow guest grows it
// to k_out_limit; that is not kept for the sandbox's life).
constexpr size_t k_out_keep = 256 * 1024;

class StreamLink final : public FrameLink {
 public:
  // m_in is not zero-filled: an idle link touches only the pages its frames were read into.
  explicit StreamLink(util::Fd fd)
      : m_fd(std::move(fd)), m_in(std::make_unique_for_overwrite<uint8_t[]>(k_in_buffer)) {}
  int fd() const override { return m_fd.get(); }

  util::Result<bool> read_frame(std::vector<uint8_t>& frame) override {
    while (true) {
      size_t avail = m_in_end - m_in_start;
      if (avail >= 4) {
        uint32_t len = load_be32(m_in.get() + m_in_start);
        if (len > k_max_frame)
          return util::make_error(util::ErrorCode::Io, "stream link: oversized frame length " + std::to_string(len));
        if (avail >= 4 + len) {
          frame.assign(m_in.get() + m_in_start + 4, m_in.get() + m_in_start + 4 + len);
          m_in_start += 4 + len;
          return true;
        }
      }
      if (m_in_start > 0) {  // compact
        std::memmove(m_in.get(), m_in.get() + m_in_start, avail);
        m_in_start = 0;
        m_in_end = avail;
      }
      ssize_t n = util::retry_eintr([&] { return ::read(m_fd.get(), m_in.get() + m_in_end, k_in_buffer - m_in_end); });
      if (n < 0) {
        if (errno == EAGAIN) return false;
        return util::sys_error("read stream link");
      }
      if (n == 0) return util::make_error(util::ErrorCode::Io, "stream link: peer closed");
      m_in_end += static_cast<size_t>(n);
    }
  }

  util::Result<void> write_frame(std::span<const uint8_t> frame) override {
    size_t queued = m_out.size() - m_out_start;
    if (queued + 4 + frame.size() > k_out_limit) return util::ok();  // dropped
    uint8_t prefix[4];
    store_be32(prefix, static_cast<uint32_t>(frame.size()));
    m_out.insert(m_out.end(), prefix, prefix + 4);
    m_out.insert(m_out.end(), frame.begin(), frame.end());
    if (queued == 0) return flush();
    return util::ok();
  }

  bool wants_write() const override { return m_out_start < m_out.size(); }

  util::Result<void> flush() override {
    while (m_out_start < m_out.size()) {
      ssize_t n = util::retry_eintr(
          [&] { return util::send_nosignal(m_fd.get(), m_out.data() + m_out_start, m_out.size() - m_out_start); });
      if (n < 0) {
        if (errno == EAGAIN) break;
        return util::sys_error("write stream link");
      }
      m_out_start += static_cast<size_t>(n);
    }
    if (m_out_start == m_out.size()) {
      m_out.clear();
      m_out_start = 0;
      if (m_out.capacity() > k_out_keep) std::vector<uint8_t>().swap(m_out);
    } else if (m_out_start > k_out_limit) {
      m_out.erase(m_out.begin(), m_out.begin() + static_cast<ptrdiff_t>(m_out_start));
      m_out_start = 0;
    }
    return util::ok();
  }

 private:
  util::Fd m_fd;
  std::unique_ptr<uint8_t[]> m_in;
  size_t m_in_start = 0, m_in_end = 0;
  std::vector<uint8_t> m_out;
  size_t m_out_start = 0;
};

}  // namespace

util::Result<std::unique_ptr<FrameLink>> make_stream_link(util::Fd socket) {
  ML_TRY_CTX(util::set_nonblocking(socket.get()), "stream link");
  return std::unique_ptr<FrameLink>(std::make_unique<StreamLink>(std::move(socket)));
}

}  // namespace net
