#include "net/health_server.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <string>

#include "net/http_message.hpp"
#include "util/descriptors.hpp"

namespace net {

namespace {

constexpr size_t k_max_probe_head = 4096;
constexpr auto k_probe_deadline = std::chrono::seconds(2);

}  // namespace

util::Result<std::unique_ptr<HealthServer>> HealthServer::start(util::Fd listener) {
  std::unique_ptr<HealthServer> h(new HealthServer());
  h->m_listener = std::move(listener);
  int fds[2];
  if (util::pipe_cloexec(fds) != 0) return util::sys_error("pipe");
  h->m_wake_read = util::Fd(fds[0]);
  h->m_wake_write = util::Fd(fds[1]);
  h->m_thread = std::thread([self = h.get()] { self->loop(); });
  return h;
}

HealthServer::~HealthServer() {
  if (m_wake_write) (void)util::write_all(m_wake_write.get(), "x");
  if (m_thread.joinable()) m_thread.join();
}

void HealthServer::loop() {
  while (true) {
    pollfd fds[2] = {{m_listener.get(), POLLIN, 0}, {m_wake_read.get(), POLLIN, 0}};
    if (util::retry_eintr([&] { return ::poll(fds, 2, -1); }) < 0) return;
    if (fds[1].revents) return;
    util::Fd client(util::accept_cloexec(m_listener.get()));
    if (client && util::set_nonblocking(client.get(), true)) serve(client.get());
  }
}

void HealthServer::serve(int fd) {
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + k_probe_deadline;
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos && head.size() < k_max_probe_head) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) return;
    char buf[1024];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    head.append(buf, static_cast<size_t>(n));
  }
  auto end = head.find("\r\n\r\n");
  if (end == std::string::npos) return;
  auto req = parse_request_head(std::string_view(head).substr(0, end + 4));
  std::string response;
  if (!req || (req->method != "GET" && req->method != "HEAD")) {
    response = make_response(400, "Bad Request", "GET /healthz or /readyz\n");
  } else if (req->target == "/healthz") {
    response = make_response(200, "OK", "ok\n");
  } else if (req->target == "/readyz") {
    response = m_ready.load() ? make_response(200, "OK", "ready\n")
                              : make_response(503, "Service Unavailable", "not ready\n");
  } else {
    response = make_response(404, "Not Found", "GET /healthz or /readyz\n");
  }
  (void)util::send_nosignal(fd, response.data(), response.size(), MSG_DONTWAIT);
  ::shutdown(fd, SHUT_WR);
}

}  // namespace net
