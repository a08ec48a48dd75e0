#include "engine/supervisor_wire.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "engine/sandbox_state.hpp"
#include "util/fs.hpp"
#include "util/descriptors.hpp"

namespace engine {

namespace {

constexpr size_t k_max_fds = 4;
constexpr size_t k_max_line = 1 << 20;

util::Result<sockaddr_un> make_address(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  auto s = path.string();
  if (s.size() >= sizeof(addr.sun_path))
    return util::make_error(util::ErrorCode::Io, "socket path too long (" + std::to_string(s.size()) + " bytes): " + s);
  std::memcpy(addr.sun_path, s.c_str(), s.size() + 1);
  return addr;
}

}  // namespace

util::Result<util::Fd> listen_unix(const std::filesystem::path& path) {
  auto addr = ML_TRY(make_address(path));
  util::Fd fd(util::socket_cloexec(AF_UNIX, SOCK_STREAM));
  if (!fd) return util::sys_error("socket");
  ::unlink(path.c_str());
  mode_t old = ::umask(0177);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc < 0) return util::sys_error("bind", path);
  if (::chmod(path.c_str(), 0600) < 0) return util::sys_error("chmod", path);
  if (::listen(fd.get(), 16) < 0) return util::sys_error("listen", path);
  return fd;
}

util::Result<util::Fd> connect_unix(const std::filesystem::path& path) {
  auto addr = ML_TRY(make_address(path));
  util::Fd fd(util::socket_cloexec(AF_UNIX, SOCK_STREAM));
  if (!fd) return util::sys_error("socket");
  if (util::retry_eintr([&] { return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr); }) < 0)
    return util::sys_error("connect", path);
  return fd;
}

util::Result<void> send_message(int sock, const std::string& line, const std::vector<int>& fds) {
  std::string data = line + "\n";
  if (fds.size() > k_max_fds) return util::make_error(util::ErrorCode::Internal, "too many fds");
  iovec iov{data.data(), 1};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * k_max_fds)] = {};
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  if (util::retry_eintr([&] { return util::sendmsg_nosignal(sock, &msg); }) < 0) return util::sys_error("sendmsg");
  return util::write_all(sock, std::string_view(data).substr(1));
}

util::Result<Message> recv_message(int sock) {
  Message m;
  while (true) {
    char c = 0;
    iovec iov{&c, 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * k_max_fds)] = {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = util::retry_eintr([&] { return ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); });
    if (n < 0) return util::sys_error("recvmsg");
    for (cmsghdr* h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
      if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd = -1;
        std::memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
        m.fds.emplace_back(fd);
      }
    }
    if (n == 0) {
      if (m.line.empty()) return util::make_error(util::ErrorCode::NotFound, "connection closed");
      return util::make_error(util::ErrorCode::Io, "connection closed mid-message");
    }
    if (c == '\n') return m;
    m.line.push_back(c);
    if (m.line.size() > k_max_line) return util::make_error(util::ErrorCode::Io, "control message too long");
  }
}

util::Result<nlohmann::json> supervisor_request(const util::Dirs& dirs, const std::string& name,
                                                const nlohmann::json& request) {
  ML_TRY(check_sandbox_name(name));
  auto paths = sandbox_paths(dirs, name);
  if (!util::path_exists(paths.dir)) return util::make_error(util::ErrorCode::NotFound, "no sandbox '" + name + "'");
  auto sock = connect_unix(paths.socket());
  if (!sock)
    return util::make_error(util::ErrorCode::NotFound,
                            "sandbox '" + name + "' is not running (start it with matchlock up)");
  ML_TRY(send_message(sock->get(), request.dump()));
  auto msg = ML_TRY_CTX(recv_message(sock->get()), "supervisor");
  try {
    nlohmann::json reply = nlohmann::json::parse(msg.line);
    if (!reply.value("ok", false))
      return util::make_error(util::ErrorCode::Guest, reply.value("error", std::string("request failed")));
    return reply;
  } catch (const nlohmann::json::exception& e) {
    return util::make_error(util::ErrorCode::Internal, std::string("supervisor reply: ") + e.what());
  }
}

}  // namespace engine
