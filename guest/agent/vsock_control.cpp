#include "guest/agent/vsock_control.hpp"

// clang-format off
#include <sys/socket.h>
#include <linux/vm_sockets.h>
// clang-format on
#include <poll.h>

#include <chrono>
#include <string>

namespace agent {

util::Result<util::Fd> listen_vsock(uint32_t port) {
  const std::string where = "vsock port " + std::to_string(port);
  util::Fd fd(::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return util::sys_error("socket AF_VSOCK (is the vsock module loaded?)", where);
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_ANY;
  addr.svm_port = port;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return util::sys_error("bind", where);
  if (::listen(fd.get(), 1) < 0) return util::sys_error("listen", where);
  return fd;
}

util::Result<util::Fd> accept_host(int listener, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0)
      return util::make_error(util::ErrorCode::Guest, "the host never connected to the vsock control port");
    pollfd p{listener, POLLIN, 0};
    int r = util::retry_eintr([&] { return ::poll(&p, 1, static_cast<int>(left)); });
    if (r < 0) return util::sys_error("poll vsock listener");
    if (r == 0) continue;
    sockaddr_vm peer{};
    socklen_t len = sizeof peer;
    util::Fd conn(
        util::retry_eintr([&] { return ::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC); }));
    if (!conn) {
      if (errno == EAGAIN || errno == ECONNABORTED) continue;
      return util::sys_error("accept vsock");
    }
    if (peer.svm_cid != VMADDR_CID_HOST) continue;  // only the host drives the agent
    return conn;
  }
}

}  // namespace agent
