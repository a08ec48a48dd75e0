// One guest TCP flow: decide, sniff the first bytes, then refuse, splice,
// check HTTP, or intercept TLS.
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>

#include "net/host_service.hpp"
#include "net/hostname.hpp"
#include "net/proxy_shared.hpp"
#include "net/tls_sni.hpp"
#include "util/log.hpp"

namespace net {

namespace {

using Clock = std::chrono::steady_clock;
constexpr uint16_t k_http_port = 80;

enum class FirstBytes { Tls, Http, Other, Silent };

struct Sniffed {
  FirstBytes kind = FirstBytes::Silent;
  std::string bytes;  // everything read from the guest so far
  ClientHello hello;
  bool timed_out = false;  // Silent: neither side sent a byte within the timeout
};

// Reads from GUEST until the first bytes are classified (a complete ClientHello for TLS).
// When UPSTREAM >= 0 and it speaks first, the flow is "server first": Silent. Nothing from
// either side within TIMEOUT: Silent with timed_out.
// PREFIX: bytes already read from the guest (after an explicit proxy's CONNECT head).
util::Result<Sniffed> sniff(int guest, int upstream, std::chrono::milliseconds timeout, std::string prefix = {}) {
  Sniffed s;
  s.bytes = std::move(prefix);
  auto deadline = Clock::now() + timeout;
  bool fresh = !s.bytes.empty();
  while (true) {
    if (fresh) {
      fresh = false;
      auto bytes = std::span(reinterpret_cast<const uint8_t*>(s.bytes.data()), s.bytes.size());
      s.hello = parse_client_hello(bytes);
      if (s.hello.status == HelloStatus::Complete || s.hello.status == HelloStatus::Malformed) {
        s.kind = FirstBytes::Tls;
        return s;
      }
      if (s.hello.status == HelloStatus::NeedMore) {
        if (s.bytes.size() > 70000) return util::make_error(util::ErrorCode::Network, "ClientHello too large");
      } else if (Sniff h = looks_like_http_request(s.bytes); h != Sniff::NeedMore) {
        s.kind = h == Sniff::Yes ? FirstBytes::Http : FirstBytes::Other;
        return s;
      }
    }
    pollfd fds[2] = {{guest, POLLIN, 0}, {upstream, POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      s.timed_out = s.bytes.empty();
      return s.bytes.empty() ? s : (s.kind = FirstBytes::Other, s);
    }
    int wait = static_cast<int>(std::min<int64_t>(left, INT32_MAX));
    int r = util::retry_eintr([&] { return ::poll(fds, upstream < 0 ? 1 : 2, wait); });
    if (r < 0) return util::sys_error("poll");
    if (r == 0) continue;
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      if (s.bytes.empty()) return s;  // the server spoke first
      continue;
    }
    char buf[16384];
    size_t n = ML_TRY(util::read_some(guest, buf));
    if (n == 0) {
      s.kind = s.bytes.empty() ? FirstBytes::Silent : FirstBytes::Other;
      return s;
    }
    s.bytes.append(buf, n);
    fresh = true;
  }
}

// The first request head in BYTES (a refused flow's only request), if complete and valid.
std::optional<HttpHead> first_request(std::string_view bytes) {
  auto end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) return std::nullopt;
  auto head = parse_request_head(bytes.substr(0, end + 4));
  if (!head) return std::nullopt;
  return std::move(*head);
}

// Its Host header's name (canonical), or "" when absent or not a valid host[:port].
std::string host_of(const std::optional<HttpHead>& head) {
  if (!head) return {};
  auto authority = parse_authority(head->header("host").value_or(""));
  return authority ? authority->host : std::string();
}

class Flow {
 public:
  Flow(ProxyShared& shared, const FlowInfo& info, util::Fd guest, FlowEntry entry)
      : m_shared(shared), m_info(info), m_guest(shared, std::move(guest)), m_entry(std::move(entry)) {}

  void run();

 private:
  void refuse(const Decision& decision);
  util::Result<void> forward(const Decision& decision);
  util::Result<void> tls(Sniffed& sniffed, const Decision& decision, TrackedFd& upstream);
  AuditEvent event(AuditKind kind, std::string name, const Decision& d) const {
    AuditEvent e;
    e.kind = kind;
    e.name = std::move(name);
    if (m_info.dst_ip.value) e.address = m_info.dst_ip.to_string();  // none for a gateway's named flow
    e.port = m_info.dst_port;
    e.allowed = d.allowed();
    e.rule = d.rule;
    e.reason = d.reason;
    return e;
  }
  // The name the flow is for: the DNS name behind the synthetic address, else the address.
  std::string flow_host() const { return m_info.dst_name.empty() ? m_info.dst_ip.to_string() : m_info.dst_name; }

  bool explicit_entry() const { return m_entry.kind != FlowEntryKind::Captured; }
  // An explicit client's answer (200 to CONNECT, 502 for a failed dial), scrubbed.
  void answer(int status, std::string_view reason, std::string body) {
    m_shared.scrub(body);
    (void)util::write_all(m_guest.get(), status == 200 ? std::string("HTTP/1.1 200 Connection established\r\n\r\n")
                                                       : make_response(status, reason, body));
  }

  ProxyShared& m_shared;
  const FlowInfo& m_info;
  TrackedFd m_guest;
  FlowEntry m_entry;
};

void Flow::run() {
  Decision d = m_info.dst_name.empty() ? m_shared.options.policy.decide_address(m_info.dst_ip, m_info.dst_port)
                                       : m_shared.options.policy.decide_name(m_info.dst_name, m_info.dst_port);
  if (!d.allowed()) return refuse(d);
  auto r = forward(d);
  if (!r && !m_shared.stopping()) {
    std::string line = "proxy: " + flow_host() + ": " + r.error().message();
    m_shared.scrub(line);
    util::log::debug(line);
  }
}

void Flow::refuse(const Decision& d) {
  auto sniffed = sniff(m_guest.get(), -1, m_shared.options.refused_sniff_timeout);
  std::string host = flow_host();
  if (!sniffed || sniffed->kind == FirstBytes::Silent || sniffed->kind == FirstBytes::Other) {
    m_shared.audit(event(AuditKind::Tcp, m_info.dst_name, d));
    return;  // closing resets the guest's connection
  }
  if (sniffed->kind == FirstBytes::Tls) {
    AuditEvent e =
        event(AuditKind::Tls, sniffed->hello.server_name.empty() ? m_info.dst_name : sniffed->hello.server_name, d);
    m_shared.audit(e);
    (void)util::write_all(m_guest.get(), tls_alert_record(k_alert_access_denied));
    ::shutdown(m_guest.get(), SHUT_WR);
    return;
  }
  // Read the rest of the request head (bounded) so the 403 can name the Host.
  auto deadline = Clock::now() + m_shared.options.refused_sniff_timeout;
  while (sniffed->bytes.find("\r\n\r\n") == std::string::npos && sniffed->bytes.size() < k_max_head_bytes) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{m_guest.get(), POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) break;
    char buf[4096];
    auto n = util::read_some(m_guest.get(), buf);
    if (!n || *n == 0) break;
    sniffed->bytes.append(buf, *n);
  }
  auto request = first_request(sniffed->bytes);
  std::string named = host_of(request);
  AuditEvent e = event(AuditKind::Http, named.empty() ? m_info.dst_name : named, d);
  if (request) {
    e.method = request->method;
    e.path = request->target.substr(0, request->target.find('?'));
  }
  m_shared.audit(e);
  std::string response =
      make_response(403, "Forbidden", refusal_body(named.empty() ? host : named, m_info.dst_port, d));
  answer_and_close(m_guest.get(), response);
}

util::Result<void> Flow::forward(const Decision& decision) {
  auto dialed = dial_upstream(m_shared, m_info, m_info.dst_name);
  if (!dialed) {
    AuditEvent e = event(AuditKind::Tcp, m_info.dst_name, decision);
    e.allowed = false;
    e.reason = dialed.error().message();
    m_shared.audit(e);
    if (explicit_entry()) {
      answer(502, "Bad Gateway", "matchlock: " + flow_host() + ":" + std::to_string(m_info.dst_port) + ": " + e.reason + "\n");
      ::shutdown(m_guest.get(), SHUT_WR);
    }
    return std::move(dialed).error();
  }
  TrackedFd upstream(m_shared, std::move(*dialed));
  if (m_entry.kind == FlowEntryKind::Connect) answer(200, "Connection established", {});
  // Port 80 speaks HTTP only: the client's first bytes decide, whoever speaks first, and
  // bytes that are neither HTTP nor TLS are refused there (docs/network-policy.md).
  bool http_port = m_info.dst_port == k_http_port;
  Sniffed sniffed = ML_TRY(sniff(m_guest.get(), http_port ? -1 : upstream.get(), m_shared.options.first_bytes_timeout,
                                 std::move(m_entry.prefix)));
  if (sniffed.timed_out) {
    AuditEvent e = event(AuditKind::Tcp, m_info.dst_name, decision);
    e.reason = "no byte from either side within " +
               std::to_string(m_shared.options.first_bytes_timeout.count() / 1000) + " s: closed";
    m_shared.audit(e);
    return util::ok();
  }
  if (sniffed.kind == FirstBytes::Tls) return tls(sniffed, decision, upstream);
  if (http_port && sniffed.kind != FirstBytes::Http) {
    AuditEvent e = event(AuditKind::Tcp, m_info.dst_name, decision);
    e.allowed = false;
    e.reason = "port 80 carries HTTP only; the first bytes were not an HTTP/1.x request";
    m_shared.audit(e);
    if (sniffed.kind == FirstBytes::Other)
      (void)util::write_all(m_guest.get(), make_response(400, "Bad Request", "matchlock: " + e.reason + "\n"));
    ::shutdown(m_guest.get(), SHUT_WR);
    return util::ok();
  }
  FdStream guest(m_guest.get(), std::move(sniffed.bytes));
  FdStream up(upstream.get(), {});
  if (sniffed.kind == FirstBytes::Http) {
    HttpSession session{m_shared, m_info, flow_host(), Transport::PlainHttp, false,
                        m_entry.kind == FlowEntryKind::AbsoluteForm, 0, 0};
    auto r = serve_http(session, guest, up);
    AuditEvent e = event(AuditKind::Tcp, m_info.dst_name, decision);
    e.bytes_up = session.bytes_up;
    e.bytes_down = session.bytes_down;
    m_shared.audit(e);
    return r;
  }
  AuditEvent e = event(AuditKind::Tcp, m_info.dst_name, decision);
  auto r = tunnel(guest, up, e.bytes_up, e.bytes_down);
  m_shared.audit(e);
  return r;
}

util::Result<void> Flow::tls(Sniffed& sniffed, const Decision& decision, TrackedFd& upstream) {
  const ClientHello& hello = sniffed.hello;
  auto sni = hello.server_name.empty() ? std::optional<std::string>() : canonical_hostname(hello.server_name);
  std::string name = hello.server_name.empty() ? flow_host() : sni.value_or(hello.server_name);
  AuditEvent e = event(AuditKind::Tls, name, decision);
  auto alert = [&](std::string reason, const std::string& rule) {
    e.allowed = false;
    e.reason = std::move(reason);
    e.rule = rule;
    m_shared.audit(e);
    (void)util::write_all(m_guest.get(), tls_alert_record(k_alert_access_denied));
    ::shutdown(m_guest.get(), SHUT_WR);
    return util::ok();
  };
  if (hello.status != HelloStatus::Complete) return alert("malformed TLS ClientHello", "");
  if (hello.encrypted_hello)
    return alert("encrypted ClientHello (ECH): the server would act on a name the sandbox cannot check", "");
  if (!hello.server_name.empty() && !sni) return alert("invalid SNI host name", "");
  if (sni && *sni != m_info.dst_name && in_service_domain(m_info.dst_name))
    return alert("SNI " + *sni + " on a connection to the host service " + m_info.dst_name +
                     ": a host service is reached by its own name only",
                 "");
  // Through CONNECT the client named its host itself: a ClientHello for another name is
  // domain fronting, refused whatever the policy says of that name.
  if (m_entry.kind == FlowEntryKind::Connect && sni && *sni != m_info.dst_name)
    return alert("SNI " + *sni + " does not match the CONNECT host " + flow_host() + " (domain fronting)", "");
  if (sni && *sni != m_info.dst_name) {
    Decision d = m_shared.options.policy.decide_name(*sni, m_info.dst_port);
    if (!d.allowed()) return alert("SNI " + *sni + " does not match " + flow_host() + " and " + d.reason, d.rule);
  }
  const SecretTable* secrets = m_shared.options.secrets.get();
  bool intercept = secrets && m_shared.options.ca && !parse_ipv4(name) && secrets->bound_to(name, m_info.dst_port);
  if (!intercept) {
    FdStream guest(m_guest.get(), std::move(sniffed.bytes));
    FdStream up(upstream.get(), {});
    auto r = tunnel(guest, up, e.bytes_up, e.bytes_down);
    m_shared.audit(e);
    return r;
  }
  e.intercepted = true;
  auto up = tls_connect(m_shared, upstream.get(), name);
  if (!up) return alert(up.error().message(), decision.rule);
  auto guest = tls_accept(m_shared, m_guest.get(), std::move(sniffed.bytes), name);
  if (!guest) {
    e.allowed = false;
    e.reason = guest.error().message();
    m_shared.audit(e);
    return std::move(guest).error();
  }
  HttpSession session{m_shared, m_info, name, Transport::Tls, true, false, 0, 0};
  auto r = serve_http(session, **guest, **up);
  e.bytes_up = session.bytes_up;
  e.bytes_down = session.bytes_down;
  m_shared.audit(e);
  return r;
}

}  // namespace

void answer_and_close(int fd, std::string_view response) {
  (void)util::write_all(fd, response);
  ::shutdown(fd, SHUT_WR);
  // Drain what the client still sends so the close is a FIN, not a reset over the answer.
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  for (int i = 0; i < 64 && ::poll(&p, 1, 200) > 0; ++i) {
    auto n = util::read_some(fd, buf);
    if (!n || *n == 0) break;
  }
}

void run_flow(ProxyShared& shared, const FlowInfo& info, util::Fd guest, FlowEntry entry) {
  Flow flow(shared, info, std::move(guest), std::move(entry));
  flow.run();
}

}  // namespace net
