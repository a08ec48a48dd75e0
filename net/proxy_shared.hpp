// Internal to the proxy: state shared by every flow worker, and the steps a flow
// is made of (dialing, TLS on either side, the HTTP exchange loop).
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "net/proxy.hpp"
#include "net/proxy_stream.hpp"
#include "net/tls_util.hpp"

namespace net {

class ProxyShared {
 public:
  ProxyOptions options;
  SslCtxPtr upstream_ctx;  // verifies peers: system store + extra CA
  SslCtxPtr guest_ctx;     // server side; leaf chosen per connection

  // Fds of live flows, so the destructor can unblock every worker.
  bool track(int fd);
  void untrack(int fd);
  void shutdown_all();
  bool stopping() const { return m_stopping.load(); }

  // Every record passes scrub() first: no real secret value is ever written to the log.
  void audit(AuditEvent event) const;
  // Replaces real secret values in TEXT (SecretTable::scrub); for every text the proxy
  // writes: responses it makes up, audit records, log lines.
  void scrub(std::string& text) const {
    if (options.secrets) options.secrets->scrub(text);
  }

 private:
  std::mutex m_mutex;
  std::set<int> m_fds;
  std::atomic<bool> m_stopping{false};
};

// Owns an fd registered with ProxyShared for the life of a flow.
class TrackedFd {
 public:
  TrackedFd(ProxyShared& shared, util::Fd fd) : m_shared(shared), m_fd(std::move(fd)) {
    if (m_fd && !m_shared.track(m_fd.get())) ::shutdown(m_fd.get(), SHUT_RDWR);
  }
  ~TrackedFd() {
    if (m_fd) m_shared.untrack(m_fd.get());
  }
  TrackedFd(const TrackedFd&) = delete;
  TrackedFd& operator=(const TrackedFd&) = delete;
  int get() const { return m_fd.get(); }

 private:
  ProxyShared& m_shared;
  util::Fd m_fd;
};

util::Result<void> init_tls_contexts(ProxyShared& shared);

// Connects to the upstream of a flow: NAME:PORT resolved on the host (overrides first),
// or the raw address for unnamed flows. Private answers are refused per the policy.
util::Result<util::Fd> dial_upstream(const ProxyShared& shared, const FlowInfo& info, std::string_view name);
// TLS client on FD toward NAME, fully verified, ALPN http/1.1.
util::Result<std::unique_ptr<TlsStream>> tls_connect(ProxyShared& shared, int fd, std::string_view name);
// TLS server on FD (PREFIX = the ClientHello already read) with a leaf for NAME.
util::Result<std::unique_ptr<TlsStream>> tls_accept(ProxyShared& shared, int fd, std::string prefix,
                                                    std::string_view name);

struct HttpSession {
  const ProxyShared& shared;
  const FlowInfo& info;
  std::string conn_name;  // where the bytes go: the SNI/resolved name, or the address
  Transport transport = Transport::PlainHttp;
  bool intercepted = false;
  // An explicit proxy's plain-HTTP client (`matchlock gateway`): every request names its
  // origin in absolute form (that of this connection), is sent on in origin-form, and
  // the response closes the connection (the next request may be for another origin).
  bool explicit_proxy = false;
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
};

// Serves requests from CLIENT to UPSTREAM until either side closes or a request is refused.
util::Result<void> serve_http(HttpSession& session, Stream& client, Stream& upstream);

}  // namespace net

namespace net {

// How a flow reached the proxy: captured from the guest's network (the sandbox), or named by
// an explicit-proxy client (the gateway) with CONNECT or an absolute-form request.
enum class FlowEntryKind { Captured, Connect, AbsoluteForm };
struct FlowEntry {
  FlowEntryKind kind = FlowEntryKind::Captured;
  std::string prefix;  // bytes already read from the client (the request head, for AbsoluteForm)
};
// Writes RESPONSE (a refusal) to FD, half-closes, and reads what the client still sends for a
// bounded time, so the close is a FIN, not a reset over the answer (proxy_flow.cpp).
void answer_and_close(int fd, std::string_view response);
// Runs one flow to completion on the calling thread (proxy_flow.cpp). An explicit flow
// (Connect/AbsoluteForm) was already decided allowed by the caller; a failed dial is answered
// with 502, a dialed Connect with 200, and a ClientHello's SNI must equal the CONNECT host.
void run_flow(ProxyShared& shared, const FlowInfo& info, util::Fd guest, FlowEntry entry = {});
// One explicit-proxy client (proxy_explicit.cpp): reads its first request head (bounded by
// k_max_head_bytes and ProxyOptions::head_timeout), decides CONNECT host:port or an
// absolute-form http:// request by the policy, then runs the flow. PEER: guest_ip/guest_port.
void run_explicit_client(ProxyShared& shared, const FlowInfo& peer, util::Fd client);

}  // namespace net
