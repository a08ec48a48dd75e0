// FrameLink: where the stack's raw Ethernet frames come from and go to.
// Three implementations: a TAP fd (one frame per read/write; the test rig), a QEMU
// `-netdev stream` socket (4-byte big-endian length before each frame) and a connected
// datagram socket (one frame per datagram: Virtualization.framework's file-handle NIC).
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
// Takes a connected SOCK_DGRAM socket: one Ethernet frame per datagram (frame_link_datagram.cpp).
util::Result<std::unique_ptr<FrameLink>> make_datagram_link(util::Fd socket);

// The MTU a datagram link carries: VZFileHandleNetworkDeviceAttachment's default (1500;
// macOS 13 allows up to 65535, not used until it is measured on a Mac).
inline constexpr size_t k_datagram_mtu = 1500;
// Apple's rule for the socket behind a VZFileHandleNetworkDeviceAttachment: SO_RCVBUF at
// least twice SO_SNDBUF, four times recommended. We use four.
inline constexpr int k_datagram_rcv_per_snd = 4;
inline constexpr int k_datagram_rcvbuf = 4 * 1024 * 1024;
// The buffer sizes the kernel granted (getsockopt; Linux reports twice what it was given).
struct DatagramBuffers {
  int sndbuf = 0;
  int rcvbuf = 0;
};
// Sets SO_RCVBUF to WANT_RCVBUF (or the system's cap) and SO_SNDBUF to a quarter of what was
// granted; fails if the result breaks RCVBUF >= 2 x SNDBUF or cannot hold one MTU-sized frame.
util::Result<DatagramBuffers> set_datagram_buffers(int fd, int want_rcvbuf = k_datagram_rcvbuf);

}  // namespace net
