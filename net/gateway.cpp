#include "net/gateway.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <charconv>
#include <thread>

#include "util/descriptors.hpp"
#include "util/log.hpp"

namespace net {

util::Result<util::Fd> listen_tcp(std::string_view text) {
  auto bad = [&] {
    return util::make_error(util::ErrorCode::Usage, "\"" + std::string(text) + "\" is not ADDRESS:PORT (IPv4)");
  };
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad();
  auto address = parse_ipv4(text.substr(0, colon));
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (!address || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) return bad();
  util::Fd fd(util::socket_cloexec(AF_INET, SOCK_STREAM, util::Blocking::No));
  if (!fd) return util::sys_error("socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(address->value);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return util::sys_error("bind", text);
  if (::listen(fd.get(), 512) != 0) return util::sys_error("listen", text);
  return fd;
}

util::Result<std::unique_ptr<Gateway>> Gateway::create(ProxyOptions options, GatewayLimits limits,
                                                       util::Fd listener) {
  std::unique_ptr<Gateway> g(new Gateway());
  g->m_audit = options.audit;
  g->m_max_clients = options.max_flows;
  g->m_limits = limits;
  g->m_listener = std::move(listener);
  g->m_proxy = ML_TRY_CTX(Proxy::create(std::move(options)), "gateway");
  return g;
}

Gateway::~Gateway() = default;

util::Result<void> Gateway::run(int stop_fd) {
  while (true) {
    pollfd fds[2] = {{m_listener.get(), POLLIN, 0}, {stop_fd, POLLIN, 0}};
    int r = util::retry_eintr([&] { return ::poll(fds, 2, -1); });
    if (r < 0) return util::sys_error("poll");
    if (fds[1].revents) break;
    if (fds[0].revents & POLLIN) accept_one();
  }
  m_listener.reset();  // stop accepting: new clients are refused by the kernel
  util::log::info("gateway: stopping; " + std::to_string(m_proxy->active_flows()) + " client(s) in flight");
  auto deadline = std::chrono::steady_clock::now() + m_limits.drain_timeout;
  while (m_proxy->active_flows() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (size_t left = m_proxy->active_flows())
    util::log::info("gateway: closing " + std::to_string(left) + " client(s) still in flight");
  m_proxy.reset();  // shuts every flow down and joins the workers
  return util::ok();
}

void Gateway::accept_one() {
  util::Fd fd(util::accept_cloexec(m_listener.get()));
  if (!fd) {
    // EMFILE and friends: back off instead of spinning on a listener that stays readable.
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED && errno != EINTR)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return;
  }
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getpeername(fd.get(), reinterpret_cast<sockaddr*>(&sa), &len) != 0 || sa.sin_family != AF_INET) return;
  if (!util::set_nonblocking(fd.get(), false)) return;
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  FlowInfo peer;
  peer.guest_ip = Ipv4{ntohl(sa.sin_addr.s_addr)};
  peer.guest_port = ntohs(sa.sin_port);
  const uint32_t key = peer.guest_ip.value;
  {
    std::lock_guard lock(*m_peers_mutex);
    if (m_proxy->active_flows() >= m_max_clients)
      return over_limit(fd.get(), peer, "gateway client limit: " + std::to_string(m_max_clients) + " concurrent clients");
    size_t& n = (*m_peers)[key];
    if (n >= m_limits.max_per_peer)
      return over_limit(fd.get(), peer,
                        "gateway client limit: " + std::to_string(m_limits.max_per_peer) +
                            " concurrent connections from " + peer.guest_ip.to_string());
    ++n;
  }
  auto peers = m_peers;
  auto mutex = m_peers_mutex;
  bool started = m_proxy->handle_client(peer, std::move(fd), [peers, mutex, key] {
    std::lock_guard lock(*mutex);
    if (auto it = peers->find(key); it != peers->end() && --it->second == 0) peers->erase(it);
  });
  if (!started) peer_finished(key);  // at the cap after all (audited by the proxy); the fd is closed
}

void Gateway::peer_finished(uint32_t key) {
  std::lock_guard lock(*m_peers_mutex);
  if (auto it = m_peers->find(key); it != m_peers->end() && --it->second == 0) m_peers->erase(it);
}

// Called with m_peers_mutex held.
void Gateway::over_limit(int fd, const FlowInfo& peer, std::string reason) {
  static constexpr std::string_view k_busy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  (void)util::send_nosignal(fd, k_busy.data(), k_busy.size(), MSG_DONTWAIT);
  ++m_unaudited;
  auto now = std::chrono::steady_clock::now();
  if (!m_audit || now - m_last_limit_audit < std::chrono::seconds(1)) return;
  m_last_limit_audit = now;
  AuditEvent e;
  e.kind = AuditKind::Tcp;
  e.address = peer.guest_ip.to_string();
  e.allowed = false;
  e.reason = reason + " (" + std::to_string(m_unaudited) + " refused since the last record)";
  m_unaudited = 0;
  m_audit->record(std::move(e));
}

}  // namespace net
