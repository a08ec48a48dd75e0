// The HTTP/1.1 exchange loop of a plain-HTTP or intercepted flow: one request at a
// time (pipelined requests wait in the client's buffer), each decided by
// check_request (net/http_request_check.hpp), bodies copied by their framing, 101
// turns into a tunnel. Keep-alive both ways: an upstream that closes an idle
// connection closes the guest's too, so the client reconnects instead of waiting.
#include <poll.h>

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "net/hostname.hpp"
#include "net/http_request_check.hpp"
#include "net/proxy_shared.hpp"
#include "net/secret_scrubber.hpp"

namespace net {

namespace {

AuditEvent http_event(const HttpSession& s, const HttpHead* request, std::string_view host) {
  AuditEvent e;
  e.kind = AuditKind::Http;
  e.name = std::string(host);
  if (s.info.dst_ip.value) e.address = s.info.dst_ip.to_string();
  e.port = s.info.dst_port;
  e.intercepted = s.intercepted;
  if (request) {
    e.method = request->method;
    e.path = s.explicit_proxy ? audit_path(request->method, request->target)
                              : request->target.substr(0, request->target.find('?'));
  }
  return e;
}

const char* status_text(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 405:
      return "Method Not Allowed";
    case 502:
      return "Bad Gateway";
    default:
      return "Error";
  }
}

util::Result<void> refuse(HttpSession& s, Stream& client, AuditEvent event, std::string body, int status) {
  event.allowed = false;
  s.shared.audit(event);
  s.shared.scrub(body);
  std::string response = make_response(status, status_text(status), body);
  s.bytes_down += response.size();
  auto r = client.write(response);
  client.shutdown_write();
  return r;
}

// Waits for the client's next request: true when the client has bytes (or closed: the
// head reader tells), false when the upstream ended the idle connection or sent bytes
// nobody asked for (then the flow ends, and the client opens a new connection).
util::Result<bool> wait_for_request(BufferedReader& client, BufferedReader& upstream) {
  while (true) {
    if (client.has_buffered() || client.stream().has_buffered()) return true;
    if (upstream.has_buffered()) return false;
    pollfd fds[2] = {{client.stream().fd(), POLLIN, 0}, {upstream.stream().fd(), POLLIN, 0}};
    if (!upstream.stream().has_buffered()) {
      int r = util::retry_eintr([&] { return ::poll(fds, 2, -1); });
      if (r < 0) return util::sys_error("poll");
      if (fds[0].revents) return true;
    }
    char byte;
    auto n = upstream.stream().read_ready(std::span(&byte, 1));
    if (n && !*n) continue;  // a TLS record without data (a session ticket)
    return false;            // end of stream, an error, or unsolicited bytes
  }
}

// Body bytes toward the guest, scrubbed of secret values (net/secret_scrubber.hpp) and
// framed anew: chunked, or as they come (the connection then closes after them).
class ScrubbedBody : public Stream {
 public:
  ScrubbedBody(Stream& out, SecretScrubber& scrubber, bool chunked)
      : m_out(out), m_scrubber(scrubber), m_chunked(chunked) {}
  util::Result<size_t> read(std::span<char>) override {
    return util::make_error(util::ErrorCode::Internal, "ScrubbedBody is write-only");
  }
  util::Result<void> write(std::string_view data) override { return emit(ML_TRY(m_scrubber.feed(data))); }
  util::Result<void> finish() {
    std::string rest = ML_TRY(m_scrubber.finish());
    ML_TRY(emit(rest));
    return m_chunked ? m_out.write("0\r\n\r\n") : util::ok();
  }
  void shutdown_write() override { m_out.shutdown_write(); }
  int fd() const override { return m_out.fd(); }
  bool has_buffered() const override { return false; }
  uint64_t written = 0;

 private:
  util::Result<void> emit(const std::string& data) {
    if (data.empty()) return util::ok();
    written += data.size();
    if (!m_chunked) return m_out.write(data);
    char hex[24];
    std::snprintf(hex, sizeof hex, "%zx\r\n", data.size());
    return m_out.write(hex + data + "\r\n");
  }
  Stream& m_out;
  SecretScrubber& m_scrubber;
  bool m_chunked;
};

// Collects what a BufferedReader copies, up to a cap (a body read whole for the refresh
// injection; net/secrets.hpp rewrite_body).
class StringSink : public Stream {
 public:
  explicit StringSink(size_t cap) : m_cap(cap) {}
  ~StringSink() override { OPENSSL_cleanse(data.data(), data.size()); }
  util::Result<size_t> read(std::span<char>) override {
    return util::make_error(util::ErrorCode::Internal, "StringSink is write-only");
  }
  util::Result<void> write(std::string_view bytes) override {
    if (data.size() + bytes.size() > m_cap)
      return util::make_error(util::ErrorCode::Denied, "request body larger than " + std::to_string(m_cap) + " bytes");
    data.append(bytes);
    return util::ok();
  }
  void shutdown_write() override {}
  int fd() const override { return -1; }
  bool has_buffered() const override { return false; }
  std::string data;

 private:
  size_t m_cap;
};

// The data of a canonical chunked body ("<hex>\r\n<data>\r\n"... "0\r\n\r\n", as
// BufferedReader::copy_chunked(Canonical) writes it).
std::string dechunk(std::string_view c) {
  std::string out;
  while (true) {
    size_t eol = c.find("\r\n");
    if (eol == std::string_view::npos) return out;
    size_t n = std::stoul(std::string(c.substr(0, eol)), nullptr, 16);
    if (n == 0) return out;
    out.append(c.substr(eol + 2, n));
    c.remove_prefix(eol + 2 + n + 2);
  }
}

// A POST to a secret's refresh_url (an OAuth token endpoint): its body is read whole and its
// placeholders replaced (SecretTable::rewrite_body), then sent with a Content-Length.
// nullopt when the request is not one; an error (Denied) refuses it.
util::Result<std::optional<std::string>> refresh_body(const SecretTable& secrets, HttpSession& s, HttpHead& req,
                                                      const RequestVerdict& verdict, BufferedReader& client,
                                                      AuditEvent& event) {
  if (req.method != "POST" || s.transport != Transport::Tls || verdict.framing.kind == BodyKind::None)
    return std::optional<std::string>();
  std::string url = canonical_https_url(verdict.host, verdict.port, req.target.substr(0, req.target.find('?')));
  if (!secrets.has_refresh_url(url)) return std::optional<std::string>();
  StringSink sink(SecretTable::k_max_refresh_body);
  if (verdict.framing.kind == BodyKind::Length) {
    if (verdict.framing.length > SecretTable::k_max_refresh_body)
      return util::make_error(util::ErrorCode::Denied, "request body to a refresh_url larger than " +
                                                           std::to_string(SecretTable::k_max_refresh_body) + " bytes");
    ML_TRY(client.copy_exact(verdict.framing.length, sink, event.bytes_up));
  } else {
    ML_TRY(client.copy_chunked(sink, event.bytes_up, BufferedReader::Chunked::Canonical));
    sink.data = dechunk(sink.data);
  }
  InjectionScope where{s.conn_name, s.info.dst_port, verdict.host, verdict.port, Transport::Tls};
  std::string body = std::move(sink.data);
  auto injected = secrets.rewrite_body(body, url, req.header("content-type").value_or(""), where);
  if (!injected) {
    OPENSSL_cleanse(body.data(), body.size());
    return std::move(injected).error();
  }
  for (auto& n : injected->injected)
    if (std::find(event.secrets.begin(), event.secrets.end(), n) == event.secrets.end()) event.secrets.push_back(n);
  std::erase_if(req.headers, [](const HttpHeader& h) {
    return iequals(h.name, "content-length") || iequals(h.name, "transfer-encoding");
  });
  req.headers.push_back({"Content-Length", std::to_string(body.size())});
  return std::optional<std::string>(std::move(body));
}

// Intercepted flows ask for uncompressed responses: only plain bytes can be scrubbed.
void ask_identity_encoding(HttpHead& request) {
  std::erase_if(request.headers, [](const HttpHeader& h) { return iequals(h.name, "accept-encoding"); });
  request.headers.push_back({"Accept-Encoding", "identity"});
}

bool encoded(const HttpHead& response) {
  for (const auto& h : response.headers)
    if (iequals(h.name, "content-encoding") && !h.value.empty() && !iequals(h.value, "identity")) return true;
  return false;
}

// An explicit proxy's request must name this connection's origin in absolute form
// ("http://HOST[:PORT]/..."): the reason when it does not. (check_request then holds the
// Host header to the same authority.)
std::optional<std::string> explicit_request_error(const HttpSession& s, const HttpHead& req) {
  constexpr std::string_view k_scheme = "http://";
  const std::string& t = req.target;
  if (t.size() < k_scheme.size() || !iequals(std::string_view(t).substr(0, k_scheme.size()), k_scheme))
    return std::string("a request through the gateway must name its origin in absolute form (http://HOST/PATH)");
  std::string_view rest = std::string_view(t).substr(k_scheme.size());
  auto authority = parse_authority(rest.substr(0, rest.find_first_of("/?#")));
  if (!authority) return std::string("the request target's authority is not a valid host[:port]");
  uint16_t port = authority->port ? authority->port : 80;
  if (!iequals(authority->host, s.conn_name) || port != s.info.dst_port)
    return std::string("one connection to the gateway carries requests for one origin only");
  return std::nullopt;
}

// "http://host/p?q" -> "/p?q" (what the origin server expects).
void to_origin_form(HttpHead& req) {
  std::string_view rest = std::string_view(req.target).substr(req.target.find("://") + 3);
  auto slash = rest.find_first_of("/?");
  std::string origin = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (origin.starts_with('?')) origin.insert(0, "/");
  req.target = std::move(origin);
  std::erase_if(req.headers, [](const HttpHeader& h) { return iequals(h.name, "proxy-connection"); });
}

}  // namespace

util::Result<void> serve_http(HttpSession& s, Stream& client_stream, Stream& upstream_stream) {
  BufferedReader client(client_stream);
  BufferedReader upstream(upstream_stream);
  const RequestScope scope{s.conn_name, s.info.dst_port, s.transport};
  while (true) {
    if (!ML_TRY(wait_for_request(client, upstream))) {
      client_stream.shutdown_write();
      return util::ok();
    }
    auto head_text = ML_TRY(client.read_head(k_max_head_bytes));
    if (!head_text) {
      upstream_stream.shutdown_write();
      return util::ok();
    }
    auto parsed = parse_request_head(*head_text);
    if (!parsed) {
      AuditEvent e = http_event(s, nullptr, s.conn_name);
      e.reason = parsed.error().message();
      return refuse(s, client_stream, e, "matchlock: request refused: " + e.reason + "\n", 400);
    }
    HttpHead req = std::move(*parsed);
    if (s.explicit_proxy) {
      if (auto why = explicit_request_error(s, req)) {
        AuditEvent e = http_event(s, &req, s.conn_name);
        e.reason = *why;
        return refuse(s, client_stream, e, "matchlock: request refused: " + e.reason + "\n", 400);
      }
    }
    RequestVerdict verdict = check_request(req, scope, s.shared.options.policy, s.shared.options.secrets.get());
    if (s.explicit_proxy && !verdict.refused()) to_origin_form(req);
    AuditEvent event = http_event(s, &req, verdict.host.empty() ? s.conn_name : verdict.host);
    if (verdict.refused()) {
      event.rule = verdict.rule;
      event.reason = verdict.reason;
      return refuse(s, client_stream, event, verdict.body, verdict.status);
    }
    event.secrets = std::move(verdict.injected);
    if (req.header_has_token("expect", "100-continue")) {
      // Answer it here so the body never waits on an upstream round trip.
      std::erase_if(req.headers, [](const HttpHeader& h) { return iequals(h.name, "expect"); });
      static constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";
      ML_TRY(client_stream.write(k_continue));
      event.bytes_down += k_continue.size();
    }
    // What comes back from a secret-bound host is scrubbed of secret values (responses
    // from bound hosts are where an OAuth refresh hands out new tokens).
    const SecretTable* secrets = s.shared.options.secrets.get();
    const bool scrub = s.intercepted && secrets && !secrets->empty();
    if (scrub) ask_identity_encoding(req);
    std::optional<std::string> whole_body;
    if (scrub) {
      auto body = refresh_body(*secrets, s, req, verdict, client, event);
      if (!body) {
        event.reason = body.error().message();
        return refuse(s, client_stream, event, "matchlock: request refused: " + event.reason + "\n", 403);
      }
      whole_body = std::move(*body);
    }
    std::string out_head = req.serialize_request();
    auto sent = upstream_stream.write(out_head);
    // The rewritten head may hold secret values: wipe our copies.
    OPENSSL_cleanse(out_head.data(), out_head.size());
    for (auto& h : req.headers) OPENSSL_cleanse(h.value.data(), h.value.size());
    OPENSSL_cleanse(req.target.data(), req.target.size());
    ML_TRY(std::move(sent));
    event.bytes_up += head_text->size();
    const BodyFraming& framing = verdict.framing;
    if (whole_body) {  // a refresh_url's body, rewritten: sent whole, then wiped
      auto body_sent = upstream_stream.write(*whole_body);
      OPENSSL_cleanse(whole_body->data(), whole_body->size());
      ML_TRY(std::move(body_sent));
    } else if (framing.kind == BodyKind::Length) {
      ML_TRY(client.copy_exact(framing.length, upstream_stream, event.bytes_up));
    } else if (framing.kind == BodyKind::Chunked) {
      ML_TRY(client.copy_chunked(upstream_stream, event.bytes_up, BufferedReader::Chunked::Canonical));
    }

    HttpHead resp;
    std::string resp_text;
    std::optional<SecretScrubber> scrubber;
    if (scrub) scrubber.emplace(*secrets, s.conn_name, s.info.dst_port);
    while (true) {
      auto rhead = ML_TRY(upstream.read_head(k_max_head_bytes));
      if (!rhead) return util::make_error(util::ErrorCode::Network, "upstream closed before responding");
      resp = ML_TRY(parse_response_head(*rhead));
      event.bytes_down += rhead->size();
      resp_text = std::move(*rhead);
      if (scrub) {  // header values too (a token in a Location or a cookie)
        for (auto& h : resp.headers) h.value = ML_TRY(scrub_secrets(*scrubber, h.value));
        resp_text = resp.serialize_response();
      }
      if (resp.status >= 200 || resp.status == 101) break;
      ML_TRY(client_stream.write(resp_text));
    }
    auto rframing = ML_TRY(response_framing(resp, req.method));
    event.status = resp.status;
    event.allowed = true;
    const bool has_body = rframing.kind != BodyKind::None && resp.status != 101;
    bool chunked_out = false, close_after = false;
    if (scrub && has_body) {
      if (encoded(resp)) {  // asked for identity, got something we cannot read: never forwarded
        event.allowed = false;
        event.reason =
            "the response of a secret-bound host is compressed (Content-Encoding) although identity was "
            "asked for: it cannot be checked for secret values";
        return refuse(s, client_stream, event, "matchlock: response refused: " + event.reason + "\n", 502);
      }
      std::erase_if(resp.headers, [](const HttpHeader& h) {
        return iequals(h.name, "content-length") || iequals(h.name, "transfer-encoding");
      });
      chunked_out = req.version == "HTTP/1.1";
      if (chunked_out) {
        resp.headers.push_back({"Transfer-Encoding", "chunked"});
      } else {
        resp.headers.push_back({"Connection", "close"});
        close_after = true;
      }
      resp_text = resp.serialize_response();
    }
    if (s.explicit_proxy && resp.status != 101) {
      std::erase_if(resp.headers, [](const HttpHeader& h) { return iequals(h.name, "connection"); });
      resp.headers.push_back({"Connection", "close"});
      resp_text = resp.serialize_response();
      close_after = true;
    }
    ML_TRY(client_stream.write(resp_text));
    if (resp.status == 101) {
      s.shared.audit(event);
      s.bytes_up += event.bytes_up;
      s.bytes_down += event.bytes_down;
      std::string to_up = client.take_buffered(), to_client = upstream.take_buffered();
      ML_TRY(upstream_stream.write(to_up));
      ML_TRY(client_stream.write(to_client));
      s.bytes_up += to_up.size();
      s.bytes_down += to_client.size();
      return tunnel(client_stream, upstream_stream, s.bytes_up, s.bytes_down);
    }
    if (scrub && has_body) {
      ScrubbedBody body(client_stream, *scrubber, chunked_out);
      uint64_t read = 0;
      if (rframing.kind == BodyKind::Length) ML_TRY(upstream.copy_exact(rframing.length, body, read));
      if (rframing.kind == BodyKind::Chunked)
        ML_TRY(upstream.copy_chunked(body, read, BufferedReader::Chunked::Decoded));
      if (rframing.kind == BodyKind::UntilClose) ML_TRY(upstream.copy_to_eof(body, read));
      ML_TRY(body.finish());
      event.bytes_down += body.written;
    } else {
      if (rframing.kind == BodyKind::Length)
        ML_TRY(upstream.copy_exact(rframing.length, client_stream, event.bytes_down));
      if (rframing.kind == BodyKind::Chunked) ML_TRY(upstream.copy_chunked(client_stream, event.bytes_down));
      if (rframing.kind == BodyKind::UntilClose) ML_TRY(upstream.copy_to_eof(client_stream, event.bytes_down));
    }
    if (scrubber) event.scrubbed = scrubber->replaced();
    s.bytes_up += event.bytes_up;
    s.bytes_down += event.bytes_down;
    s.shared.audit(event);
    if (close_after || rframing.kind == BodyKind::UntilClose || !keeps_alive(req, resp)) {
      client_stream.shutdown_write();
      upstream_stream.shutdown_write();
      return util::ok();
    }
  }
}

}  // namespace net
