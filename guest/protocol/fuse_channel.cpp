// "fuse" channel (guest side): the agent's end of a workspace mount. The
// System mounts FUSE at the target and hands over the /dev/fuse fd; this
// channel moves raw FUSE messages between that fd and the host's file server
// (workspace/file_server.hpp): requests read from /dev/fuse go out as Data on
// stream Out, replies arrive as Data on stream In and are written back to
// /dev/fuse one whole message per write(2). The agent never interprets a
// request beyond its length prefix. A virtio-fs share (MountSpec.tag) is
// mounted when the channel opens and the channel just ends: the host serves
// that one from guest memory. docs/workspace.md.
#include <linux/fuse.h>
#include <unistd.h>

#include <cstring>

#include "guest/protocol/guest_channel.hpp"
#include "guest/protocol/messages.hpp"

namespace protocol {

using nlohmann::json;

namespace {

// A read from /dev/fuse needs room for the largest request: max_write (1 MiB,
// negotiated by the host) plus headers.
constexpr size_t k_read_buffer = (size_t{1} << 20) + 8192;
constexpr size_t k_max_reply = (size_t{1} << 20) + 4096;

class FuseChannel : public GuestChannel {
 public:
  FuseChannel(ChannelLink link, util::Fd dev) : GuestChannel(link), m_dev(std::move(dev)), m_buf(k_read_buffer) {}

  void on_data(StreamId, std::string_view bytes) override {
    m_in.append(bytes);
    link().grant(static_cast<uint32_t>(bytes.size()));  // buffered at most one reply
    write_replies();
  }
  void on_eof(StreamId) override { finish(); }
  void on_abort() override { finish(); }
  void poll_fds(std::vector<pollfd>& out) override {
    bool want = !link().closed() && m_out_pos >= m_out.size();
    out.push_back({want ? m_dev.get() : -1, POLLIN, 0});
  }
  bool busy() const override {
    auto* self = const_cast<FuseChannel*>(this);
    return !self->link().closed() && m_out_pos < m_out.size() && self->link().send_budget() > 0;
  }
  void step(std::span<const pollfd> fds) override {
    if (link().closed()) return;
    bool readable = !fds.empty() && (fds[0].revents & (POLLIN | POLLERR | POLLHUP));
    for (int round = 0; round < 64 && !link().closed(); ++round) {
      if (m_out_pos < m_out.size()) {
        size_t n = link().send_budget();
        if (n == 0) return;
        n = std::min(n, m_out.size() - m_out_pos);
        link().send_data(StreamId::Out, std::string_view(m_out).substr(m_out_pos, n));
        m_out_pos += n;
        continue;
      }
      if (!readable && round == 0) return;
      ssize_t r = ::read(m_dev.get(), m_buf.data(), m_buf.size());
      if (r > 0) {
        m_out.assign(m_buf.data(), static_cast<size_t>(r));
        m_out_pos = 0;
        continue;
      }
      if (r < 0 && (errno == EAGAIN || errno == EINTR || errno == ENOENT)) return;
      // ENODEV: unmounted (the connection is gone).
      link().send_error(r < 0 ? std::string("read /dev/fuse: ") + std::strerror(errno) : "read /dev/fuse: EOF");
      finish();
      return;
    }
  }

 private:
  void write_replies() {
    while (m_in.size() >= sizeof(fuse_out_header)) {
      fuse_out_header h;
      std::memcpy(&h, m_in.data(), sizeof h);
      if (h.len < sizeof h || h.len > k_max_reply) {
        link().send_error("fuse: bad reply length from the host", "protocol");
        finish();
        return;
      }
      if (m_in.size() < h.len) return;
      // An error here (ENOENT: the request was interrupted and is gone) only
      // concerns that one request.
      ssize_t w = util::retry_eintr([&] { return ::write(m_dev.get(), m_in.data(), h.len); });
      (void)w;
      m_in.erase(0, h.len);
    }
  }
  void finish() {
    m_dev.reset();  // the last /dev/fuse fd: the kernel aborts the connection (ENOTCONN)
    link().close();
  }

  util::Fd m_dev;
  std::vector<char> m_buf;
  std::string m_out;  // the request being sent
  size_t m_out_pos = 0;
  std::string m_in;  // reply bytes not yet a whole message
};

// A virtio-fs share: the host serves the guest kernel directly (no pump);
// the channel only reports that the mount is in place (EOF, then Close).
class MountedChannel : public GuestChannel {
 public:
  using GuestChannel::GuestChannel;
  void on_data(StreamId, std::string_view) override {}
  void on_eof(StreamId) override {}
  void on_abort() override { link().close(); }
  void poll_fds(std::vector<pollfd>& out) override { out.push_back({-1, 0, 0}); }
  bool busy() const override { return !const_cast<MountedChannel*>(this)->link().closed(); }
  void step(std::span<const pollfd>) override {
    if (link().closed()) return;
    link().send_eof(StreamId::Out);
    link().close();
  }
};

}  // namespace

std::unique_ptr<GuestChannel> make_fuse_channel(ChannelLink link, uint32_t mount_id, const GuestContext& context) {
  const MountSpec* spec = nullptr;
  for (const auto& m : context.mounts)
    if (m.id == mount_id) spec = &m;
  if (!spec) return make_failed_channel(link, "fuse: no mount with id " + std::to_string(mount_id), "not_found");
  if (!context.open_fuse) return make_failed_channel(link, "fuse: mounts are not supported here", "unsupported");
  auto dev = context.open_fuse(*spec);
  if (!dev) return make_failed_channel(link, "fuse: " + dev.error().message());
  if (!spec->tag.empty()) return std::make_unique<MountedChannel>(link);  // virtio-fs: mounted, nothing to pump
  if (!util::set_nonblocking(dev->get())) return make_failed_channel(link, "fuse: fcntl failed");
  return std::make_unique<FuseChannel>(link, std::move(*dev));
}

}  // namespace protocol
