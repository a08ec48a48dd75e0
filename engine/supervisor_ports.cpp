#include "engine/supervisor_ports.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

namespace engine {

namespace {

util::Result<util::Fd> listen_tcp_loopback(uint16_t port) {
  util::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return util::sys_error("socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return util::sys_error("port 127.0.0.1:" + std::to_string(port) + " (already in use?) bind");
  if (::listen(fd.get(), 16) < 0) return util::sys_error("listen");
  return fd;
}

// Relays one accepted connection both ways; owns both ends.
void relay(util::Fd sock, protocol::Stream stream) {
  auto shared_sock = std::make_shared<util::Fd>(std::move(sock));
  auto shared_stream = std::make_shared<protocol::Stream>(std::move(stream));
  std::thread up([shared_sock, shared_stream] {
    char buf[32768];
    while (true) {
      ssize_t n = util::retry_eintr([&] { return ::read(shared_sock->get(), buf, sizeof buf); });
      if (n <= 0) break;
      if (!shared_stream->write(std::string_view(buf, static_cast<size_t>(n)))) break;
    }
    (void)shared_stream->close_write();
  });
  while (true) {
    auto chunk = shared_stream->read();
    if (!chunk || !*chunk) break;
    if (!util::write_all(shared_sock->get(), **chunk)) break;
  }
  ::shutdown(shared_sock->get(), SHUT_WR);
  up.join();
}

}  // namespace

util::Result<std::unique_ptr<PortForwarder>> PortForwarder::bind(const std::vector<std::pair<uint16_t, uint16_t>>& ports) {
  std::unique_ptr<PortForwarder> f(new PortForwarder());
  for (const auto& [host, guest] : ports) f->m_listeners.push_back({ML_TRY(listen_tcp_loopback(host)), guest});
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return util::sys_error("pipe2");
  f->m_stop_read = util::Fd(p[0]);
  f->m_stop_write = util::Fd(p[1]);
  return f;
}

void PortForwarder::start(protocol::Client& client) {
  if (m_listeners.empty()) return;
  m_thread = std::thread([this, &client] {
    std::vector<pollfd> fds;
    for (const auto& l : m_listeners) fds.push_back({l.fd.get(), POLLIN, 0});
    fds.push_back({m_stop_read.get(), POLLIN, 0});
    while (true) {
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds.back().revents) return;
      for (size_t i = 0; i + 1 < fds.size(); ++i) {
        if (!(fds[i].revents & POLLIN)) continue;
        util::Fd conn(::accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) continue;
        auto stream = client.open_stream("tcp", m_listeners[i].guest);
        if (!stream) {
          std::fprintf(stderr, "port %d: %s\n", m_listeners[i].guest, stream.error().message().c_str());
          continue;  // closing CONN resets the client's connection
        }
        std::thread(relay, std::move(conn), std::move(*stream)).detach();
      }
    }
  });
}

PortForwarder::~PortForwarder() {
  if (m_thread.joinable()) {
    char c = 1;
    (void)!::write(m_stop_write.get(), &c, 1);
    m_thread.join();
  }
}

}  // namespace engine
