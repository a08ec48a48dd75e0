#include "engine/supervisor_ports.hpp"
#include "util/descriptors.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace engine {

namespace {

std::string loopback(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// Binds 127.0.0.1:PORT (0: a free port); never any other address.
util::Result<util::Fd> listen_tcp_loopback(uint16_t port) {
  util::Fd fd(util::socket_cloexec(AF_INET, SOCK_STREAM));
  if (!fd) return util::sys_error("socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return util::sys_error("port " + loopback(port) + " (already in use?) bind");
  if (::listen(fd.get(), 16) < 0) return util::sys_error("listen");
  return fd;
}

util::Result<uint16_t> bound_port(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) return util::sys_error("getsockname");
  return ntohs(addr.sin_port);
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

util::Result<std::unique_ptr<PortForwarder>> PortForwarder::bind(
    const std::vector<std::pair<uint16_t, uint16_t>>& ports) {
  std::unique_ptr<PortForwarder> f(new PortForwarder());
  int p[2];
  if (util::pipe_cloexec(p, util::Blocking::No) < 0) return util::sys_error("pipe");
  f->m_wake_read = util::Fd(p[0]);
  f->m_wake_write = util::Fd(p[1]);
  for (const auto& [host, guest] : ports) ML_TRY(f->add(host, guest, PortOrigin::Matchlockfile));
  return f;
}

void PortForwarder::changed(std::unique_lock<std::mutex>& lock) {
  ++m_generation;
  if (!m_running) return;
  char c = 1;
  (void)!::write(m_wake_write.get(), &c, 1);
  // Removed listeners are closed once the accept thread has let go of them.
  uint64_t want = m_generation;
  m_cv.wait(lock, [&] { return m_seen >= want || !m_running; });
}

util::Result<PortForward> PortForwarder::add(uint16_t host, uint16_t guest, PortOrigin origin) {
  if (guest == 0) return util::make_error(util::ErrorCode::Usage, "guest port must be 1..65535");
  std::unique_lock lock(m_mutex);
  for (const auto& l : m_listeners)
    if (host != 0 && l->forward.host == host)
      return util::make_error(util::ErrorCode::Config,
                              loopback(host) + " already forwards to guest port " + std::to_string(l->forward.guest));
  if (m_listeners.size() >= k_max_port_forwards)
    return util::make_error(util::ErrorCode::Config,
                            "at most " + std::to_string(k_max_port_forwards) + " forwarded ports per sandbox");
  auto listener = std::make_shared<Listener>();
  listener->fd = ML_TRY(listen_tcp_loopback(host));
  listener->forward = {ML_TRY(bound_port(listener->fd.get())), guest, origin};
  m_listeners.push_back(listener);
  changed(lock);
  return listener->forward;
}

util::Result<std::vector<PortForward>> PortForwarder::remove(uint16_t guest, uint16_t host) {
  std::unique_lock lock(m_mutex);
  std::vector<PortForward> removed;
  std::erase_if(m_listeners, [&](const std::shared_ptr<Listener>& l) {
    bool match = l->forward.guest == guest && (host == 0 || l->forward.host == host);
    if (match) removed.push_back(l->forward);
    return match;
  });
  if (removed.empty())
    return util::make_error(util::ErrorCode::NotFound, "guest port " + std::to_string(guest) + " is not forwarded" +
                                                           (host ? " from " + loopback(host) : std::string()));
  changed(lock);
  return removed;
}

std::vector<PortForward> PortForwarder::list() const {
  std::lock_guard lock(m_mutex);
  std::vector<PortForward> out;
  for (const auto& l : m_listeners) out.push_back(l->forward);
  return out;
}

void PortForwarder::start(protocol::Client& client) {
  std::lock_guard lock(m_mutex);
  m_running = true;
  m_thread = std::thread([this, &client] { run(client); });
}

void PortForwarder::run(protocol::Client& client) {
  std::vector<std::shared_ptr<Listener>> polled;
  std::vector<pollfd> fds;
  while (true) {
    {
      std::lock_guard lock(m_mutex);
      if (!m_running) break;
      polled = m_listeners;  // keeps each polled fd open until the next turn
      m_seen = m_generation;
    }
    m_cv.notify_all();
    fds.clear();
    for (const auto& l : polled) fds.push_back({l->fd.get(), POLLIN, 0});
    fds.push_back({m_wake_read.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds.back().revents) {
      char buf[64];
      while (::read(m_wake_read.get(), buf, sizeof buf) > 0) {
      }
    }
    for (size_t i = 0; i + 1 < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      util::Fd conn(util::accept_cloexec(fds[i].fd));
      if (!conn) continue;
      uint16_t guest = polled[i]->forward.guest;
      auto stream = client.open_stream("tcp", guest);
      if (!stream) {
        std::fprintf(stderr, "port %d: %s\n", guest, stream.error().message().c_str());
        continue;  // closing CONN resets the client's connection
      }
      std::thread(relay, std::move(conn), std::move(*stream)).detach();
    }
  }
}

PortForwarder::~PortForwarder() {
  {
    std::lock_guard lock(m_mutex);
    m_running = false;
  }
  m_cv.notify_all();
  if (m_thread.joinable()) {
    char c = 1;
    (void)!::write(m_wake_write.get(), &c, 1);
    m_thread.join();
  }
}

}  // namespace engine
