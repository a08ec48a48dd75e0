// put / get / tcp channels (guest side).
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "guest/protocol/guest_channel.hpp"
#include "guest/protocol/messages.hpp"
#include "guest/protocol/users.hpp"
#include "util/fd.hpp"

namespace protocol {

using nlohmann::json;

namespace {

std::string errno_message(std::string_view what, std::string_view path) {
  return std::string(what) + " " + std::string(path) + ": " + std::strerror(errno);
}

const char* errno_code() { return errno == ENOENT ? "not_found" : "io"; }

// put: data on stream In goes to a temp file next to the target, renamed on Eof.
class PutChannel : public GuestChannel {
 public:
  PutChannel(ChannelLink link, std::string path, util::Fd fd, std::string tmp)
      : GuestChannel(link), m_path(std::move(path)), m_fd(std::move(fd)), m_tmp(std::move(tmp)) {}
  ~PutChannel() override {
    if (!m_tmp.empty()) ::unlink(m_tmp.c_str());
  }
  void on_data(StreamId, std::string_view bytes) override {
    if (!link().closed() && !util::write_all(m_fd.get(), bytes)) fail(errno_message("write", m_path));
    link().grant(static_cast<uint32_t>(bytes.size()));
  }
  void on_eof(StreamId) override {
    if (link().closed()) return;
    if (::rename(m_tmp.c_str(), m_path.c_str()) < 0) return fail(errno_message("rename", m_path));
    m_tmp.clear();
    link().send_control(json{{"op", "done"}});
    link().close();
  }
  void on_abort() override { link().close(); }
  void poll_fds(std::vector<pollfd>&) override {}
  void step(std::span<const pollfd>) override {}

 private:
  void fail(const std::string& message) {
    if (link().closed()) return;
    link().send_error(message);
    link().close();
  }
  std::string m_path;
  util::Fd m_fd;
  std::string m_tmp;
};

// get: the file's bytes on stream Out under credit, then Eof and done.
class GetChannel : public GuestChannel {
 public:
  GetChannel(ChannelLink link, std::string path, util::Fd fd)
      : GuestChannel(link), m_path(std::move(path)), m_fd(std::move(fd)) {}
  void on_data(StreamId, std::string_view bytes) override { link().grant(static_cast<uint32_t>(bytes.size())); }
  void on_eof(StreamId) override {}
  void on_abort() override { link().close(); }
  void poll_fds(std::vector<pollfd>&) override {}
  bool busy() const override { return !const_cast<GetChannel*>(this)->link().closed() && budget() > 0; }
  void step(std::span<const pollfd>) override {
    char buf[k_data_chunk];
    while (!link().closed()) {
      size_t n = budget();
      if (n == 0) return;
      ssize_t r = util::retry_eintr([&] { return ::read(m_fd.get(), buf, n); });
      if (r < 0) {
        link().send_error(errno_message("read", m_path));
        link().close();
        return;
      }
      if (r == 0) {
        link().send_eof(StreamId::Out);
        link().send_control(json{{"op", "done"}});
        link().close();
        return;
      }
      link().send_data(StreamId::Out, std::string_view(buf, static_cast<size_t>(r)));
    }
  }

 private:
  size_t budget() const { return const_cast<GetChannel*>(this)->link().send_budget(); }
  std::string m_path;
  util::Fd m_fd;
};

// tcp: a byte stream to 127.0.0.1:port in the guest (port forwarding).
class TcpChannel : public GuestChannel {
 public:
  TcpChannel(ChannelLink link, util::Fd sock) : GuestChannel(link), m_sock(std::move(sock)) {}
  void on_data(StreamId, std::string_view bytes) override {
    if (m_write_closed) return link().grant(static_cast<uint32_t>(bytes.size()));
    m_in.append(bytes);
  }
  void on_eof(StreamId) override { m_in_eof = true; }
  void on_abort() override { link().close(); }
  // The host's EOF arrived after everything was flushed: nothing on the socket
  // will wake poll, so step() must run to pass the half-close on (SHUT_WR).
  bool busy() const override { return m_in_eof && m_in.empty() && !m_write_closed; }
  void poll_fds(std::vector<pollfd>& out) override {
    short ev = 0;
    if (!m_in.empty()) ev |= POLLOUT;
    if (!m_read_done && link().send_budget() > 0) ev |= POLLIN;
    out.push_back({ev ? m_sock.get() : -1, ev, 0});
  }
  void step(std::span<const pollfd> fds) override {
    if (link().closed()) return;
    if (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) flush_in();
    if (m_in.empty() && m_in_eof && !m_write_closed) {
      ::shutdown(m_sock.get(), SHUT_WR);
      m_write_closed = true;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) read_out();
    if (m_read_done && m_write_closed) link().close();
  }

 private:
  void flush_in() {
    while (!m_in.empty()) {
      ssize_t w = ::send(m_sock.get(), m_in.data(), m_in.size(), MSG_NOSIGNAL);
      if (w > 0) {
        link().grant(static_cast<uint32_t>(w));
        m_in.erase(0, static_cast<size_t>(w));
      } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
      } else {
        link().grant(static_cast<uint32_t>(m_in.size()));
        m_in.clear();
        m_write_closed = true;
        return;
      }
    }
  }
  void read_out() {
    char buf[k_data_chunk];
    size_t n = link().send_budget();
    if (n == 0 || m_read_done) return;
    ssize_t r = ::recv(m_sock.get(), buf, n, 0);
    if (r > 0) {
      link().send_data(StreamId::Out, std::string_view(buf, static_cast<size_t>(r)));
    } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
      m_read_done = true;
      link().send_eof(StreamId::Out);
    }
  }
  util::Fd m_sock;
  std::string m_in;
  bool m_in_eof = false, m_write_closed = false, m_read_done = false;
};

}  // namespace

// mkdir -p of PATH's parent: directories it creates are 0700 and owned by UID:GID.
bool make_parents(const std::string& path, uid_t uid, gid_t gid) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) == 0) {
      if (::chown(dir.c_str(), uid, gid) < 0) return false;
    } else if (errno != EEXIST) {
      return false;
    }
  }
  return true;
}

std::unique_ptr<GuestChannel> make_put_channel(ChannelLink link, const json& open, const GuestContext& context) {
  auto path = get_string(open, "path");
  auto mode = get_int(open, "mode");
  if (!path || !mode || path->empty()) return make_failed_channel(link, "put: bad request", "protocol");
  // Optional "user": the file (and the directories made for it) belong to that guest user,
  // and "~/" at the start of the path is their home.
  auto user_spec = get_string(open, "user");
  std::optional<UserIdentity> owner;
  if (user_spec && !user_spec->empty()) {
    auto u = resolve_user_in(*user_spec, context.root);
    if (!u) return make_failed_channel(link, "put " + *path + ": " + u.error().message(), "not_found");
    owner = std::move(*u);
    if (path->starts_with("~/")) *path = (owner->home == "/" ? "" : owner->home) + path->substr(1);
  }
  if ((*path)[0] != '/') return make_failed_channel(link, "put: bad request", "protocol");
  if (owner && !make_parents(*path, owner->uid, owner->gid))
    return make_failed_channel(link, errno_message("mkdir", *path), errno_code());
  std::string tmp = *path + ".ml-put-XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return make_failed_channel(link, errno_message("create", *path), errno_code());
  util::Fd owned(fd);
  if ((owner && ::fchown(fd, owner->uid, owner->gid) < 0) || ::fchmod(fd, static_cast<mode_t>(*mode & 07777)) < 0) {
    ::unlink(tmp.c_str());
    return make_failed_channel(link, errno_message("chmod", *path));
  }
  return std::make_unique<PutChannel>(link, *path, std::move(owned), std::move(tmp));
}

std::unique_ptr<GuestChannel> make_get_channel(ChannelLink link, const json& open) {
  auto path = get_string(open, "path");
  if (!path) return make_failed_channel(link, "get: bad request", "protocol");
  util::Fd fd(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return make_failed_channel(link, errno_message("open", *path), errno_code());
  struct stat st;
  if (::fstat(fd.get(), &st) < 0) return make_failed_channel(link, errno_message("stat", *path));
  if (!S_ISREG(st.st_mode)) return make_failed_channel(link, "get " + *path + ": not a regular file");
  uint64_t max = open.value("max_size", uint64_t{0});
  if (max && static_cast<uint64_t>(st.st_size) > max)
    return make_failed_channel(link, "get " + *path + ": file larger than " + std::to_string(max) + " bytes");
  return std::make_unique<GetChannel>(link, *path, std::move(fd));
}

std::unique_ptr<GuestChannel> make_tcp_channel(ChannelLink link, const json& open) {
  auto port = get_int(open, "port");
  if (!port || *port <= 0 || *port > 65535) return make_failed_channel(link, "tcp: bad port", "protocol");
  util::Fd sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return make_failed_channel(link, errno_message("socket", "tcp"));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(*port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (util::retry_eintr([&] { return ::connect(sock.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa); }) < 0)
    return make_failed_channel(link, errno_message("connect", "127.0.0.1:" + std::to_string(*port)));
  if (!util::set_nonblocking(sock.get())) return make_failed_channel(link, "tcp: fcntl failed");
  return std::make_unique<TcpChannel>(link, std::move(sock));
}

}  // namespace protocol
