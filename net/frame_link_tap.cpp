// FrameLink over a TAP fd (IFF_TAP | IFF_NO_PI): one frame per read()/write().
#include <unistd.h>

#include "net/frame_link.hpp"

namespace net {
namespace {

class TapLink final : public FrameLink {
 public:
  explicit TapLink(util::Fd fd) : m_fd(std::move(fd)) {}
  int fd() const override { return m_fd.get(); }

  util::Result<bool> read_frame(std::vector<uint8_t>& frame) override {
    frame.resize(k_max_frame);
    ssize_t n = util::retry_eintr([&] { return ::read(m_fd.get(), frame.data(), frame.size()); });
    if (n < 0) {
      if (errno == EAGAIN) return false;
      return util::sys_error("read tap");
    }
    if (n == 0) return util::make_error(util::ErrorCode::Io, "read tap: device gone");
    frame.resize(static_cast<size_t>(n));
    return true;
  }

  util::Result<void> write_frame(std::span<const uint8_t> frame) override {
    ssize_t n = util::retry_eintr([&] { return ::write(m_fd.get(), frame.data(), frame.size()); });
    if (n < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EIO) return util::sys_error("write tap");
    return util::ok();  // EAGAIN/ENOBUFS/EIO (link down): the frame is dropped like on a wire
  }

 private:
  util::Fd m_fd;
};

}  // namespace

util::Result<std::unique_ptr<FrameLink>> make_tap_link(util::Fd tap) {
  ML_TRY_CTX(util::set_nonblocking(tap.get()), "tap link");
  return std::unique_ptr<FrameLink>(std::make_unique<TapLink>(std::move(tap)));
}

}  // namespace net
