// net::Gateway: `matchlock gateway`'s accept loop (docs/gateway.md). Clients that cannot be
// captured transparently (Kubernetes sandbox pods) use it as an explicit HTTP proxy; each
// accepted connection runs on a net::Proxy worker (Proxy::handle_client), so the policy,
// secrets, MITM, audit and flow cap are the sandbox proxy's own.
// Bounds (hostile clients, docs/threat-model.md): at most ProxyOptions::max_flows clients at
// once, at most GatewayLimits::max_per_peer from one source address (a slowloris from one pod
// cannot starve the others), the request head within head_timeout; a client over a limit is
// answered 503 and closed, audited at most once a second.
// run() returns when STOP_FD becomes readable (SIGTERM through a SignalFd): it stops
// accepting, gives in-flight clients up to drain_timeout, then shuts the rest down.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string_view>

#include "net/ipv4.hpp"
#include "net/proxy.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace net {

struct GatewayLimits {
  size_t max_per_peer = 64;
  std::chrono::milliseconds drain_timeout{10000};
};

// A listening TCP socket on "A.B.C.D:PORT" (SO_REUSEADDR, O_CLOEXEC).
util::Result<util::Fd> listen_tcp(std::string_view address_port);

class Gateway {
 public:
  static util::Result<std::unique_ptr<Gateway>> create(ProxyOptions options, GatewayLimits limits,
                                                       util::Fd listener);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  util::Result<void> run(int stop_fd);

 private:
  Gateway() = default;
  void accept_one();
  void over_limit(int fd, const FlowInfo& peer, std::string reason);  // m_peers_mutex held
  void peer_finished(uint32_t peer);

  std::unique_ptr<Proxy> m_proxy;
  std::shared_ptr<Audit> m_audit;
  util::Fd m_listener;
  GatewayLimits m_limits;
  size_t m_max_clients = 0;
  std::shared_ptr<std::mutex> m_peers_mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::map<uint32_t, size_t>> m_peers = std::make_shared<std::map<uint32_t, size_t>>();
  std::chrono::steady_clock::time_point m_last_limit_audit{};
  uint64_t m_unaudited = 0;
};

}  // namespace net
