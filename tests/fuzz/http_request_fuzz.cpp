// Fuzz target: what the guest sends on a plain-HTTP or intercepted flow, through the proxy's
// request path without sockets: BufferedReader heads (pipelined, keep-alive), parse_request_head,
// check_request (Host, absolute-form, fronting, framing, secret injection) and the request
// bodies (Content-Length, canonical chunked), as net/proxy_http.cpp runs them.
// Input: byte 0 picks the connection (name, port, TLS or not), byte 1 the read sizes, the rest
// is the client's byte stream.
// Invariants: no refusal text carries a real secret value; a real value leaves only in a
// request whose connection and authority are both bound to that secret over TLS; what is
// forwarded re-parses as the same request (one Host, the same authority and body framing).
#include "net/hostname.hpp"
#include "net/http_request_check.hpp"
#include "net/policy.hpp"
#include "net/rule.hpp"
#include "net/secrets.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/fuzz/memory_stream.hpp"

namespace {

std::vector<net::Rule> rules(std::initializer_list<const char*> texts) {
  std::vector<net::Rule> out;
  for (const char* t : texts) out.push_back(net::parse_rule(t).value());
  return out;
}

struct Setup {
  net::Policy policy;
  net::SecretTable secrets;
  Setup()
      : policy(rules({"*.allowed.test", "allowed.test", "10.0.0.0/8:80"}), rules({"deny.allowed.test"}),
               net::BlockPrivate::Yes) {
    net::SecretBinding token{
        "TOKEN", "MATCHLOCK_SECRET_0123456789abcdef0123456789abcdef", "real-token-VALUE-1", rules({"secret.test"}), {}};
    net::SecretBinding key{"KEY",
                           "MATCHLOCK_SECRET_fedcba9876543210fedcba9876543210",
                           "real-key-VALUE-2",
                           rules({"*.allowed.test"}),
                           {true, false, false}};
    policy.add_secret_hosts(token.name, token.hosts);
    policy.add_secret_hosts(key.name, key.hosts);
    secrets.add(std::move(token));
    secrets.add(std::move(key));
  }
};

const Setup& setup() {
  static const Setup s;
  return s;
}

bool carries_value(std::string_view text) {
  for (const auto& b : setup().secrets.bindings())
    if (text.find(b.value) != std::string_view::npos) return true;
  return false;
}

// HEAD is what the guest sent (it may hold a value it made up itself: then it proves nothing).
void check_forwarded(std::string_view head, const net::HttpHead& req, const net::RequestVerdict& v,
                     const net::RequestScope& scope) {
  std::string out = req.serialize_request();
  auto again = net::parse_request_head(out);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->method == req.method && again->target == req.target);
  int hosts = 0;
  for (const auto& h : again->headers) {
    if (!net::iequals(h.name, "host")) continue;
    ++hosts;
    auto a = net::parse_authority(h.value);
    FUZZ_CHECK(a && a->host == v.host);
  }
  FUZZ_CHECK(hosts == 1);
  auto framing = net::request_framing(*again);
  FUZZ_CHECK(framing && framing->kind == v.framing.kind && framing->length == v.framing.length);
  for (const auto& b : setup().secrets.bindings()) {
    if (out.find(b.value) == std::string::npos || head.find(b.value) != std::string_view::npos) continue;
    FUZZ_CHECK(scope.transport == net::Transport::Tls);
    FUZZ_CHECK(std::find(v.injected.begin(), v.injected.end(), b.name) != v.injected.end());
    bool conn_bound = false, authority_bound = false;
    for (const auto& r : b.hosts) {
      conn_bound = conn_bound || net::matches(r, scope.conn_name, scope.conn_port);
      authority_bound = authority_bound || net::matches(r, v.host, v.port);
    }
    FUZZ_CHECK(conn_bound && authority_bound);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  static constexpr const char* k_names[] = {"secret.test", "allowed.test", "a.allowed.test", "10.1.2.3"};
  uint8_t pick = in.u8();
  net::RequestScope scope;
  scope.conn_name = k_names[pick & 3];
  scope.transport = (pick & 4) ? net::Transport::Tls : net::Transport::PlainHttp;
  scope.conn_port = (pick & 8) ? 8080 : scope.transport == net::Transport::Tls ? 443 : 80;
  uint8_t step = in.u8();
  fuzz::MemoryStream client_stream(in.rest(), step);
  fuzz::MemoryStream upstream({}, 0);
  net::BufferedReader reader(client_stream);
  for (int exchange = 0; exchange < 8; ++exchange) {
    auto head = reader.read_head(net::k_max_head_bytes);
    if (!head || !*head) break;
    (void)net::looks_like_http_request(**head);
    auto parsed = net::parse_request_head(**head);
    if (!parsed) {
      FUZZ_CHECK(parsed.error().message().find("MATCHLOCK_SECRET_") == std::string::npos);
      break;
    }
    net::HttpHead req = std::move(*parsed);
    net::RequestVerdict v = net::check_request(req, scope, setup().policy, &setup().secrets);
    if (!carries_value(**head))
      FUZZ_CHECK(!carries_value(v.reason) && !carries_value(v.body) && !carries_value(v.rule));
    if (!v.host.empty()) {
      auto a = net::parse_authority(v.host);
      FUZZ_CHECK(net::is_valid_hostname(v.host) || (a && a->is_address));
    }
    if (v.refused()) {
      FUZZ_CHECK(v.status == 400 || v.status == 403 || v.status == 405);
      FUZZ_CHECK(v.injected.empty());
      break;
    }
    check_forwarded(**head, req, v, scope);
    uint64_t counted = 0;
    if (v.framing.kind == net::BodyKind::Length) {
      if (!reader.copy_exact(v.framing.length, upstream, counted)) break;
      FUZZ_CHECK(counted == v.framing.length);
    } else if (v.framing.kind == net::BodyKind::Chunked) {
      if (!reader.copy_chunked(upstream, counted, net::BufferedReader::Chunked::Canonical)) break;
    } else {
      FUZZ_CHECK(v.framing.kind == net::BodyKind::None);  // a request body never runs to the close
    }
  }
  return 0;
}
