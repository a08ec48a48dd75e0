// FrameLink over a connected datagram socket (socketpair(AF_UNIX, SOCK_DGRAM)): one Ethernet
// frame per datagram, no length prefix. Virtualization.framework's
// VZFileHandleNetworkDeviceAttachment speaks exactly this on the other end (backends/vz).
//
// The guest writes the datagrams, so they are hostile input: an empty or runt datagram (shorter
// than an Ethernet header) and one longer than k_max_frame (MSG_TRUNC) are dropped whole, never
// passed on cut. A datagram socketpair shows no EOF to the reader when the peer closes (Linux:
// no POLLIN, recv says EAGAIN); the first send afterwards fails (ECONNREFUSED/EPIPE) and the
// link reports itself gone then. The VMM's own death is seen by its owner (the VM delegate).
//
// Output: send() either takes the whole datagram or none of it. EAGAIN queues the frame (up to
// k_out_frames, flushed when the fd is writable); ENOBUFS (macOS: the receiver's buffer is full,
// and POLLOUT would not say when it drains) drops it, as a NIC drops on a full ring.
#include <sys/socket.h>
#include <unistd.h>

#include <deque>
#include <memory>

#include "net/frame_link.hpp"
#include "util/descriptors.hpp"

namespace net {
namespace {

constexpr size_t k_out_frames = 512;
constexpr size_t k_min_frame = 14;  // destination, source, EtherType
constexpr int k_drop_budget = 64;

class DatagramLink final : public FrameLink {
 public:
  explicit DatagramLink(util::Fd fd)
      : m_fd(std::move(fd)), m_in(std::make_unique_for_overwrite<uint8_t[]>(k_max_frame)) {}
  int fd() const override { return m_fd.get(); }

  util::Result<bool> read_frame(std::vector<uint8_t>& frame) override {
    // A guest flooding runts cannot hold the stack's thread here: after k_drop_budget drops
    // the call returns "nothing yet" and the (level-triggered) loop serves the rest first.
    for (int dropped = 0; dropped < k_drop_budget;) {
      iovec iov{m_in.get(), k_max_frame};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      ssize_t n = util::retry_eintr([&] { return ::recvmsg(m_fd.get(), &msg, 0); });
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        return util::sys_error("recv datagram link");
      }
      if ((msg.msg_flags & MSG_TRUNC) || static_cast<size_t>(n) < k_min_frame) {
        ++m_dropped_in;
        ++dropped;
        continue;
      }
      frame.assign(m_in.get(), m_in.get() + n);
      return true;
    }
    return false;
  }

  util::Result<void> write_frame(std::span<const uint8_t> frame) override {
    if (!m_out.empty()) {
      if (m_out.size() < k_out_frames) m_out.emplace_back(frame.begin(), frame.end());
      return flush();
    }
    auto sent = ML_TRY(send_one(frame));
    if (sent == Sent::WouldBlock) m_out.emplace_back(frame.begin(), frame.end());
    return util::ok();
  }

  bool wants_write() const override { return !m_out.empty(); }

  util::Result<void> flush() override {
    while (!m_out.empty()) {
      auto sent = ML_TRY(send_one(m_out.front()));
      if (sent == Sent::WouldBlock) break;
      m_out.pop_front();
    }
    return util::ok();
  }

 private:
  enum class Sent { Done, WouldBlock };

  util::Result<Sent> send_one(std::span<const uint8_t> frame) {
    // util::send_nosignal: MSG_NOSIGNAL where it exists (SO_NOSIGPIPE is set on the socket too).
    ssize_t n = util::retry_eintr([&] { return util::send_nosignal(m_fd.get(), frame.data(), frame.size()); });
    if (n >= 0) return Sent::Done;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Sent::WouldBlock;
    if (errno == ENOBUFS || errno == EMSGSIZE) return Sent::Done;  // dropped, like a full ring
    return util::sys_error("send datagram link");
  }

  util::Fd m_fd;
  std::unique_ptr<uint8_t[]> m_in;
  std::deque<std::vector<uint8_t>> m_out;
  uint64_t m_dropped_in = 0;
};

util::Result<int> get_buffer(int fd, int option, const char* name) {
  int v = 0;
  socklen_t len = sizeof v;
  if (::getsockopt(fd, SOL_SOCKET, option, &v, &len) < 0) return util::sys_error(std::string("getsockopt ") + name);
  return v;
}

}  // namespace

util::Result<DatagramBuffers> set_datagram_buffers(int fd, int want_rcvbuf) {
  // Receive buffer first: what the kernel grants (capped by rmem_max / kern.ipc.maxsockbuf)
  // decides the send buffer, so RCVBUF stays 4x SNDBUF wherever the caps lie.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want_rcvbuf, sizeof want_rcvbuf) < 0)
    return util::sys_error("setsockopt SO_RCVBUF (datagram link)");
  DatagramBuffers b;
  b.rcvbuf = ML_TRY(get_buffer(fd, SO_RCVBUF, "SO_RCVBUF"));
  int snd = b.rcvbuf / k_datagram_rcv_per_snd;
#ifdef __linux__
  snd /= 2;  // Linux doubles what it is given (for bookkeeping) and reports the doubled value
#endif
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd) < 0)
    return util::sys_error("setsockopt SO_SNDBUF (datagram link)");
  b.sndbuf = ML_TRY(get_buffer(fd, SO_SNDBUF, "SO_SNDBUF"));
  if (b.rcvbuf < 2 * b.sndbuf)
    return util::make_error(util::ErrorCode::Io, "datagram link: SO_RCVBUF " + std::to_string(b.rcvbuf) +
                                                     " is less than twice SO_SNDBUF " + std::to_string(b.sndbuf));
  if (static_cast<size_t>(b.sndbuf) < k_datagram_mtu + k_min_frame)
    return util::make_error(util::ErrorCode::Io, "datagram link: SO_SNDBUF " + std::to_string(b.sndbuf) +
                                                     " cannot hold one " + std::to_string(k_datagram_mtu) +
                                                     "-byte frame");
  return b;
}

util::Result<std::unique_ptr<FrameLink>> make_datagram_link(util::Fd socket) {
  ML_TRY_CTX(util::set_nonblocking(socket.get()), "datagram link");
#ifdef SO_NOSIGPIPE
  int one = 1;
  if (::setsockopt(socket.get(), SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one) < 0)
    return util::sys_error("setsockopt SO_NOSIGPIPE (datagram link)");
#endif
  return std::unique_ptr<FrameLink>(std::make_unique<DatagramLink>(std::move(socket)));
}

}  // namespace net
