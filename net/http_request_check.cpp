#include "net/http_request_check.hpp"

#include "net/host_service.hpp"
#include "net/hostname.hpp"

namespace net {

namespace {

RequestVerdict refused(int status, std::string reason) {
  RequestVerdict v;
  v.status = status;
  v.body = "matchlock: request refused: " + reason + "\n";
  v.reason = std::move(reason);
  return v;
}

uint16_t default_port(Transport t) { return t == Transport::Tls ? 443 : 80; }

// The authority of an absolute-form target ("http://host:port/path"), or nullopt when
// TARGET is not absolute-form. ERROR is set when it is, but the authority is unusable.
std::optional<Authority> absolute_authority(std::string_view target, uint16_t& scheme_port, bool& error) {
  auto sep = target.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  std::string_view scheme = target.substr(0, sep);
  if (iequals(scheme, "http"))
    scheme_port = 80;
  else if (iequals(scheme, "https"))
    scheme_port = 443;
  else
    return error = true, std::nullopt;
  std::string_view rest = target.substr(sep + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  auto a = parse_authority(authority);
  if (!a) error = true;
  return a;
}

// An HTTP/2 cleartext upgrade (RFC 7540 §3.2) would turn the connection into h2 frames
// whose :authority we never see: the request goes on as HTTP/1.1 without the offer.
void drop_h2c_upgrade(HttpHead& request) {
  if (!request.header_has_token("upgrade", "h2c")) return;
  std::erase_if(request.headers,
                [](const HttpHeader& h) { return iequals(h.name, "upgrade") || iequals(h.name, "http2-settings"); });
  for (auto& h : request.headers) {
    if (!iequals(h.name, "connection")) continue;
    std::string kept;
    std::string_view v = h.value;
    while (!v.empty()) {
      auto comma = v.find(',');
      std::string_view token = v.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      if (!token.empty() && !iequals(token, "upgrade") && !iequals(token, "http2-settings"))
        kept += (kept.empty() ? "" : ", ") + std::string(token);
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
    h.value = kept;
  }
  std::erase_if(request.headers, [](const HttpHeader& h) { return iequals(h.name, "connection") && h.value.empty(); });
}

}  // namespace

RequestVerdict check_request(HttpHead& request, const RequestScope& scope, const Policy& policy,
                             const SecretTable* secrets) {
  if (request.method == "CONNECT") return refused(405, "CONNECT is not supported through the sandbox proxy");

  // 2. Exactly one valid Host.
  const HttpHeader* host_header = nullptr;
  for (const auto& h : request.headers) {
    if (!iequals(h.name, "host")) continue;
    if (host_header) return refused(400, "more than one Host header");
    host_header = &h;
  }
  if (!host_header) return refused(400, "request without a Host header");
  auto host = parse_authority(host_header->value);
  if (!host) return refused(400, "the Host header is not a valid host[:port]");
  uint16_t port = host->port ? host->port : default_port(scope.transport);

  // 3. The target's form, and an absolute-form authority equal to Host's.
  const std::string& target = request.target;
  if (target.starts_with('/')) {
  } else if (target == "*" && request.method == "OPTIONS") {
  } else {
    uint16_t scheme_port = 0;
    bool bad = false;
    auto uri = absolute_authority(target, scheme_port, bad);
    if (bad || !uri) return refused(400, "the request target is not origin-form or an http(s) absolute URI");
    uint16_t uri_port = uri->port ? uri->port : scheme_port;
    if (uri->host != host->host || uri_port != port)
      return refused(400, "the request target's authority does not match the Host header");
  }

  RequestVerdict v;
  v.host = host->host;
  v.port = port;
  // 4. Fronting: another name than the connection's must be allowed in its own right.
  // A host service's connection carries its own name only: the endpoint behind it may
  // route by Host to things the sandbox was never given (net/host_service.hpp).
  if (!iequals(host->host, scope.conn_name) && in_service_domain(scope.conn_name)) {
    v.status = 403;
    v.reason = "Host " + host->host + " on a connection to the host service " + std::string(scope.conn_name) +
               ": a host service is reached by its own name only";
    v.body = "matchlock: " + v.reason + ".\n";
    return v;
  }
  if (!iequals(host->host, scope.conn_name)) {
    Decision d = policy.decide_name(host->host, port);
    if (!d.allowed()) {
      v.status = 403;
      v.rule = d.rule;
      v.reason = "Host " + host->host + " does not match " + std::string(scope.conn_name) + " and " + d.reason;
      v.body = refusal_body(host->host, port, d);
      return v;
    }
  }

  // 5. Framing, before any rewrite.
  auto framing = request_framing(request);
  if (!framing) {
    RequestVerdict r = refused(400, framing.error().message());
    r.host = v.host;
    r.port = v.port;
    return r;
  }
  v.framing = *framing;
  drop_h2c_upgrade(request);

  // 6. Secrets.
  if (secrets) {
    InjectionScope where{scope.conn_name, scope.conn_port, host->host, port, scope.transport};
    auto rewritten = secrets->rewrite(request, where);
    if (!rewritten) {
      v.status = 403;
      v.reason = rewritten.error().message();
      v.body = "matchlock: request refused: " + v.reason + "\n";
      return v;
    }
    v.injected = std::move(rewritten->injected);
  }
  return v;
}

}  // namespace net
