// FrameLink: where the stack's raw Ethernet frames come from and go to.
// Two implementations: a TAP fd (one frame per read/write; the test rig) and a QEMU
// `-netdev stream` socket (4-byte big-endian length before each frame).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace net {

// The largest frame any link carries: QEMU's NET_BUFSIZE is 4096 + 65536.
inline constexpr size_t k_max_frame = 65536 + 4096;

class FrameLink {
 public:
  virtual ~FrameLink() = default;
  // The fd to poll (non-blocking).
  virtual int fd() const = 0;
  // Next complete frame into `frame`. Returns false when no frame is ready (would block).
  // An error means the link is gone (EOF or I/O error).
  virtual util::Result<bool> read_frame(std::vector<uint8_t>& frame) = 0;
  // Queues/sends one frame; never blocks. A frame that does not fit in the link's
  // bounded output queue is dropped (like a NIC; TCP retransmits).
  virtual util::Result<void> write_frame(std::span<const uint8_t> frame) = 0;
  // True while queued output waits for the fd to become writable.
  virtual bool wants_write() const { return false; }
  // Flushes queued output when the fd is writable.
  virtual util::Result<void> flush() { return util::ok(); }
};

// Takes a TAP fd opened with IFF_TAP | IFF_NO_PI (made non-blocking here).
util::Result<std::unique_ptr<FrameLink>> make_tap_link(util::Fd tap);
// Takes a connected stream socket speaking QEMU's length-prefixed framing.
util::Result<std::unique_ptr<FrameLink>> make_stream_link(util::Fd socket);

}  // namespace net
