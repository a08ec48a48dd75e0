// An explicit-proxy client of `matchlock gateway` (docs/gateway.md): the first request head
// names the destination, the policy decides it like a captured flow's, and then the very
// same flow code runs (proxy_flow.cpp: dial with the address checks, SNI checks, MITM for
// secret-bound hosts, the HTTP checks of proxy_http.cpp).
//   CONNECT HOST:PORT     -> decided on HOST:PORT (an IPv4 literal by the address rules),
//                            200 once dialed; the ClientHello's SNI must be HOST.
//   GET http://HOST/PATH  -> decided on HOST:PORT, then served as plain HTTP (placeholders
//                            refused), in origin-form toward the upstream.
//   anything else         -> 400 (origin-form, https:// absolute form, a malformed head);
//                            a head larger than k_max_head_bytes -> 431; none within
//                            head_timeout -> closed. Every refusal is audited.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>

#include "net/hostname.hpp"
#include "net/proxy_shared.hpp"
#include "util/log.hpp"

namespace net {

namespace {

using Clock = std::chrono::steady_clock;

struct ClientHead {
  std::string bytes;  // the head and whatever followed it
  size_t head_size = 0;
  enum class Status { Complete, TooLarge, TimedOut, Closed } status = Status::Closed;
};

// Reads until the blank line ending the head, at most k_max_head_bytes, before DEADLINE.
ClientHead read_client_head(int fd, Clock::time_point deadline) {
  ClientHead h;
  while (true) {
    if (auto end = h.bytes.find("\r\n\r\n"); end != std::string::npos) {
      h.head_size = end + 4;
      h.status = h.head_size > k_max_head_bytes ? ClientHead::Status::TooLarge : ClientHead::Status::Complete;
      return h;
    }
    if (h.bytes.size() > k_max_head_bytes) return h.status = ClientHead::Status::TooLarge, h;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return h.status = ClientHead::Status::TimedOut, h;
    pollfd p{fd, POLLIN, 0};
    int r = util::retry_eintr([&] { return ::poll(&p, 1, static_cast<int>(left)); });
    if (r < 0) return h.status = ClientHead::Status::Closed, h;
    if (r == 0) continue;
    char buf[8192];
    auto n = util::read_some(fd, buf);
    if (!n || *n == 0) return h.status = ClientHead::Status::Closed, h;
    h.bytes.append(buf, *n);
  }
}

class ExplicitClient {
 public:
  ExplicitClient(ProxyShared& shared, const FlowInfo& peer, util::Fd fd)
      : m_shared(shared), m_info(peer), m_fd(std::move(fd)) {}
  void run();

 private:
  // Answers STATUS (audited as kind http, refused), then closes.
  void refuse(int status, std::string_view status_text, AuditEvent e, std::string body) {
    e.kind = AuditKind::Http;
    e.allowed = false;
    if (e.address.empty() && m_info.dst_ip.value) e.address = m_info.dst_ip.to_string();
    m_shared.audit(e);
    m_shared.scrub(body);
    answer_and_close(m_fd.get(), make_response(status, status_text, body));
  }
  void refuse_bad(std::string reason, const HttpHead* head = nullptr) {
    AuditEvent e;
    e.reason = reason;
    if (head) {
      e.method = head->method;
      e.path = audit_path(head->method, head->target);
    }
    refuse(400, "Bad Request", std::move(e), "matchlock gateway: request refused: " + reason + "\n");
  }
  // Sets m_info's destination from AUTHORITY (DEFAULT_PORT when it has none) and decides it.
  Decision destination(const Authority& authority, uint16_t default_port) {
    m_info.dst_port = authority.port ? authority.port : default_port;
    if (authority.is_address) {
      m_info.dst_ip = *parse_ipv4(authority.host);
      m_info.dst_name.clear();
      return m_shared.options.policy.decide_address(m_info.dst_ip, m_info.dst_port);
    }
    m_info.dst_ip = Ipv4{};
    m_info.dst_name = authority.host;
    return m_shared.options.policy.decide_name(m_info.dst_name, m_info.dst_port);
  }

  ProxyShared& m_shared;
  FlowInfo m_info;
  util::Fd m_fd;
};

void ExplicitClient::run() {
  ClientHead head;
  {
    // A second fd on the socket, tracked: a stopping proxy shuts it down while we wait.
    TrackedFd tracked(m_shared, util::Fd(::fcntl(m_fd.get(), F_DUPFD_CLOEXEC, 0)));
    if (tracked.get() < 0) return;
    head = read_client_head(m_fd.get(), Clock::now() + m_shared.options.head_timeout);
  }
  if (m_shared.stopping()) return;
  switch (head.status) {
    case ClientHead::Status::Complete:
      break;
    case ClientHead::Status::TooLarge:
    {
      AuditEvent e;
      e.reason = "request head larger than 64 KiB";
      return refuse(431, "Request Header Fields Too Large", std::move(e),
                    "matchlock gateway: request head larger than 64 KiB\n");
    }
    case ClientHead::Status::TimedOut:
    case ClientHead::Status::Closed:
      return;  // nothing to answer: a silent or vanished client
  }
  auto parsed = parse_request_head(std::string_view(head.bytes).substr(0, head.head_size));
  if (!parsed) return refuse_bad(parsed.error().message());
  const HttpHead& req = *parsed;
  FlowEntry entry;
  Decision d;
  if (req.method == "CONNECT") {
    auto authority = parse_authority(req.target);
    if (!authority || authority->port == 0)
      return refuse_bad("CONNECT needs HOST:PORT (a valid host name or IPv4 address and a port)", &req);
    d = destination(*authority, 0);
    entry.kind = FlowEntryKind::Connect;
    entry.prefix = head.bytes.substr(head.head_size);
  } else {
    constexpr std::string_view k_http = "http://";
    std::string_view t = req.target;
    if (t.size() < k_http.size() || !iequals(t.substr(0, k_http.size()), k_http)) {
      std::string why = t.starts_with("/") || t == "*"
                            ? "the gateway is an HTTP proxy: name the origin (absolute form http://HOST/PATH), or "
                              "use CONNECT HOST:PORT for TLS"
                            : "the request target is not an http:// absolute URI (https goes through CONNECT)";
      return refuse_bad(why, &req);
    }
    std::string_view rest = t.substr(k_http.size());
    auto authority = parse_authority(rest.substr(0, rest.find_first_of("/?#")));
    if (!authority) return refuse_bad("the request target's authority is not a valid host[:port]", &req);
    d = destination(*authority, 80);
    entry.kind = FlowEntryKind::AbsoluteForm;
    entry.prefix = std::move(head.bytes);
  }
  if (!d.allowed()) {
    AuditEvent e;
    e.name = m_info.dst_name;
    e.address = m_info.dst_name.empty() ? m_info.dst_ip.to_string() : std::string();
    e.port = m_info.dst_port;
    e.rule = d.rule;
    e.reason = d.reason;
    e.method = req.method;
    e.path = audit_path(req.method, req.target);
    std::string host = m_info.dst_name.empty() ? m_info.dst_ip.to_string() : m_info.dst_name;
    return refuse(403, "Forbidden", std::move(e), refusal_body(host, m_info.dst_port, d));
  }
  run_flow(m_shared, m_info, std::move(m_fd), std::move(entry));
}

}  // namespace

void run_explicit_client(ProxyShared& shared, const FlowInfo& peer, util::Fd client) {
  ExplicitClient c(shared, peer, std::move(client));
  c.run();
}

}  // namespace net
