// The HTTP/1.1 exchange loop of a plain-HTTP or intercepted flow: one request at a
// time (pipelined requests wait in the client's buffer), Host checked, placeholders
// refused or replaced, bodies copied by their framing, 101 turns into a tunnel.
#include "net/proxy_shared.hpp"

namespace net {

namespace {

std::string strip_port(std::string_view host, uint16_t& port) {
  auto colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']') == std::string_view::npos) {
    unsigned p = 0;
    for (char c : host.substr(colon + 1)) p = (c >= '0' && c <= '9' && p < 65536) ? p * 10 + unsigned(c - '0') : 70000;
    if (p > 0 && p <= 65535) port = static_cast<uint16_t>(p);
    host = host.substr(0, colon);
  }
  std::string out(host);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

AuditEvent http_event(const HttpSession& s, const HttpHead* request, std::string_view host) {
  AuditEvent e;
  e.kind = AuditKind::Http;
  e.name = std::string(host);
  e.address = s.info.dst_ip.to_string();
  e.port = s.info.dst_port;
  e.intercepted = s.intercepted;
  if (request) {
    e.method = request->method;
    e.path = request->target.substr(0, request->target.find('?'));
  }
  return e;
}

util::Result<void> refuse(HttpSession& s, Stream& client, AuditEvent event, std::string body, int status = 403) {
  event.allowed = false;
  s.shared.audit(event);
  const char* reason = status == 403 ? "Forbidden" : status == 400 ? "Bad Request" : "Method Not Allowed";
  std::string response = make_response(status, reason, body);
  s.bytes_down += response.size();
  auto r = client.write(response);
  client.shutdown_write();
  return r;
}

}  // namespace

std::string refusal_body(std::string_view host, uint16_t port, const Decision& decision) {
  std::string body = "matchlock: connection to " + std::string(host) + ":" + std::to_string(port) +
                     " refused by the sandbox network policy: " + decision.reason + ".\n";
  if (decision.rule.empty())
    body += "To allow it, add \"" + suggest_rule(host, port) + "\" to [network].allow in the Matchlockfile.\n";
  else
    body += "To allow it, remove \"" + decision.rule + "\" from [network].deny in the Matchlockfile.\n";
  return body;
}

util::Result<void> serve_http(HttpSession& s, Stream& client_stream, Stream& upstream_stream) {
  BufferedReader client(client_stream);
  BufferedReader upstream(upstream_stream);
  const Policy& policy = s.shared.options.policy;
  const SecretTable* secrets = s.shared.options.secrets.get();
  while (true) {
    auto head_text = ML_TRY(client.read_head(k_max_head_bytes));
    if (!head_text) {
      upstream_stream.shutdown_write();
      return util::ok();
    }
    auto parsed = parse_request_head(*head_text);
    if (!parsed) {
      AuditEvent e = http_event(s, nullptr, s.conn_name);
      e.reason = parsed.error().message();
      return refuse(s, client_stream, e, "matchlock: " + parsed.error().message() + "\n", 400);
    }
    HttpHead req = std::move(*parsed);
    auto host_header = req.header("host");
    uint16_t host_port = s.info.dst_port;
    std::string host = host_header ? strip_port(*host_header, host_port) : std::string();
    AuditEvent event = http_event(s, &req, host.empty() ? s.conn_name : host);
    if (host.empty()) {
      event.reason = "request without a Host header";
      return refuse(s, client_stream, event, "matchlock: request without a Host header refused\n", 400);
    }
    if (iequals(req.method, "CONNECT")) {
      event.reason = "CONNECT is not supported through the sandbox proxy";
      return refuse(s, client_stream, event, "matchlock: " + event.reason + "\n", 405);
    }
    if (!iequals(host, s.conn_name)) {
      // Domain fronting: the request names another host than the connection's.
      Decision d = policy.decide_name(host, host_port);
      if (!d.allowed()) {
        event.rule = d.rule;
        event.reason = "Host " + host + " does not match " + s.conn_name + " and " + d.reason;
        return refuse(s, client_stream, event, refusal_body(host, host_port, d));
      }
    }
    if (secrets) {
      auto rewritten = secrets->rewrite(req, s.conn_name, s.info.dst_port, s.transport);
      if (!rewritten) {
        event.reason = rewritten.error().message();
        return refuse(s, client_stream, event, "matchlock: request refused: " + event.reason + "\n");
      }
      event.secrets = std::move(rewritten->injected);
    }
    auto framing = request_framing(req);
    if (!framing) {
      event.reason = framing.error().message();
      return refuse(s, client_stream, event, "matchlock: " + event.reason + "\n", 400);
    }
    if (req.header_has_token("expect", "100-continue")) {
      // Answer it here so the body never waits on an upstream round trip.
      std::erase_if(req.headers, [](const HttpHeader& h) { return iequals(h.name, "expect"); });
      static constexpr std::string_view k_continue = "HTTP/1.1 100 Continue\r\n\r\n";
      ML_TRY(client_stream.write(k_continue));
      event.bytes_down += k_continue.size();
    }
    std::string out_head = req.serialize_request();
    ML_TRY(upstream_stream.write(out_head));
    // The rewritten head may hold secret values: wipe our copy.
    OPENSSL_cleanse(out_head.data(), out_head.size());
    for (auto& h : req.headers) OPENSSL_cleanse(h.value.data(), h.value.size());
    OPENSSL_cleanse(req.target.data(), req.target.size());
    event.bytes_up += head_text->size();
    if (framing->kind == BodyKind::Length) ML_TRY(client.copy_exact(framing->length, upstream_stream, event.bytes_up));
    if (framing->kind == BodyKind::Chunked) ML_TRY(client.copy_chunked(upstream_stream, event.bytes_up));

    HttpHead resp;
    while (true) {
      auto rhead = ML_TRY(upstream.read_head(k_max_head_bytes));
      if (!rhead) return util::make_error(util::ErrorCode::Network, "upstream closed before responding");
      resp = ML_TRY(parse_response_head(*rhead));
      ML_TRY(client_stream.write(*rhead));
      event.bytes_down += rhead->size();
      if (resp.status >= 200 || resp.status == 101) break;
    }
    auto rframing = ML_TRY(response_framing(resp, req.method));
    event.status = resp.status;
    event.allowed = true;
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
    if (rframing.kind == BodyKind::Length) ML_TRY(upstream.copy_exact(rframing.length, client_stream, event.bytes_down));
    if (rframing.kind == BodyKind::Chunked) ML_TRY(upstream.copy_chunked(client_stream, event.bytes_down));
    if (rframing.kind == BodyKind::UntilClose) ML_TRY(upstream.copy_to_eof(client_stream, event.bytes_down));
    s.bytes_up += event.bytes_up;
    s.bytes_down += event.bytes_down;
    s.shared.audit(event);
    if (rframing.kind == BodyKind::UntilClose || !keeps_alive(req, resp)) {
      client_stream.shutdown_write();
      upstream_stream.shutdown_write();
      return util::ok();
    }
  }
}

}  // namespace net
