// Policy decisions, HTTP head parsing and secret placeholder rewriting (pure, from memory).
#include <catch2/catch.hpp>

#include "net/http_message.hpp"
#include "net/policy.hpp"
#include "net/secrets.hpp"

namespace {

std::vector<net::Rule> rules(std::initializer_list<const char*> texts) {
  std::vector<net::Rule> out;
  for (const char* t : texts) out.push_back(net::parse_rule(t).value());
  return out;
}

net::Policy make_policy() {
  net::Policy p(rules({"github.com", "*.githubusercontent.com", "pypi.org:443", "10.1.0.0/16:5432", "1.2.3.4"}),
                rules({"evil.githubusercontent.com", "10.1.2.0/24"}), net::BlockPrivate::Yes);
  p.add_secret_hosts("GH_TOKEN", rules({"api.github.com:443"}));
  return p;
}

}  // namespace

TEST_CASE("policy: host, *.host, host:port, CIDR[:port], deny wins, secret hosts implicit") {
  net::Policy p = make_policy();
  struct Case {
    const char* host;
    uint16_t port;
    bool allowed;
    const char* rule;
  };
  // Spec: `host`, `*.host` (subdomains only), `host:port`, `CIDR[:port]`; deny wins; secret hosts implicitly allowed.
  const Case cases[] = {
      {"github.com", 443, true, "github.com"},  // host: any port
      {"github.com", 22, true, "github.com"},
      {"GitHub.COM", 80, true, "github.com"},  // case-insensitive
      {"www.github.com", 443, false, ""},      // host does not cover subdomains
      {"raw.githubusercontent.com", 443, true, "*.githubusercontent.com"},
      {"githubusercontent.com", 443, false, ""},                                 // *.host: subdomains only
      {"evil.githubusercontent.com", 443, false, "evil.githubusercontent.com"},  // deny wins
      {"pypi.org", 443, true, "pypi.org:443"},
      {"pypi.org", 80, false, ""},                          // host:port: that port only
      {"api.github.com", 443, true, "api.github.com:443"},  // bound to a secret
      {"api.github.com", 80, false, ""},
      {"example.com", 443, false, ""},
  };
  for (const auto& c : cases) {
    INFO(c.host << ":" << c.port);
    auto d = p.decide_name(c.host, c.port);
    CHECK(d.allowed() == c.allowed);
    CHECK(d.rule == c.rule);
  }
  CHECK(p.decide_name("evil.githubusercontent.com", 443).reason.find("network.deny") != std::string::npos);
  CHECK(p.decide_name("api.github.com", 443).reason.find("secrets.GH_TOKEN.hosts") != std::string::npos);
}

TEST_CASE("policy: raw addresses need a CIDR rule, names never match addresses") {
  net::Policy p = make_policy();
  auto ip = [](const char* t) { return net::parse_ipv4(t).value(); };
  CHECK(p.decide_address(ip("10.1.5.5"), 5432).allowed());
  CHECK_FALSE(p.decide_address(ip("10.1.5.5"), 5433).allowed());
  CHECK_FALSE(p.decide_address(ip("10.1.2.9"), 5432).allowed());  // deny CIDR wins
  CHECK(p.decide_address(ip("10.1.2.9"), 5432).rule == "10.1.2.0/24");
  CHECK(p.decide_address(ip("1.2.3.4"), 443).allowed());
  auto d = p.decide_address(ip("140.82.112.3"), 443);
  CHECK_FALSE(d.allowed());
  CHECK(d.reason.find("direct connections to IP addresses") != std::string::npos);
  CHECK(p.decide_name("1.2.3.4", 80).allowed());  // an address typed as a name is an address
}

TEST_CASE("policy: DNS answers names some rule could admit") {
  net::Policy p = make_policy();
  CHECK(p.decide_dns("github.com").allowed());
  CHECK(p.decide_dns("pypi.org").allowed());  // port-specific rule still resolves the name
  CHECK(p.decide_dns("api.github.com").allowed());
  CHECK(p.decide_dns("x.githubusercontent.com").allowed());
  CHECK_FALSE(p.decide_dns("evil.githubusercontent.com").allowed());
  CHECK_FALSE(p.decide_dns("example.com").allowed());
}

TEST_CASE("policy: block_private refuses private upstream answers unless a CIDR allows them") {
  net::Policy p = make_policy();
  auto ip = [](const char* t) { return net::parse_ipv4(t).value(); };
  CHECK(p.check_upstream_address("github.com", ip("140.82.112.3"), 443).allowed());
  CHECK_FALSE(p.check_upstream_address("github.com", ip("127.0.0.1"), 443).allowed());
  CHECK_FALSE(p.check_upstream_address("github.com", ip("169.254.169.254"), 80).allowed());
  CHECK(p.check_upstream_address("db", ip("10.1.5.5"), 5432).allowed());
  net::Policy open(rules({"github.com"}), {}, net::BlockPrivate::No);
  CHECK(open.check_upstream_address("github.com", ip("127.0.0.1"), 443).allowed());
}

TEST_CASE("policy: targets and suggestions") {
  CHECK(net::parse_target("API.github.com:443")->host == "api.github.com");
  CHECK(net::parse_target("API.github.com:443")->port == 443);
  CHECK(net::parse_target("github.com")->port == 0);
  CHECK_FALSE(net::parse_target("github.com:0"));
  CHECK_FALSE(net::parse_target("bad host"));
  CHECK(net::suggest_rule("example.com", 443) == "example.com");
  CHECK(net::suggest_rule("example.com", 8080) == "example.com:8080");
  CHECK(net::suggest_rule("10.0.0.1", 22) == "10.0.0.1/32:22");
  for (auto s : {net::suggest_rule("example.com", 8080), net::suggest_rule("10.0.0.1", 22)}) {
    auto r = net::parse_rule(s);
    REQUIRE(r);
    CHECK(net::matches(*r, s.substr(0, s.find_first_of("/:")), s.find(":22") != std::string::npos ? 22 : 8080));
  }
}

TEST_CASE("http: request and response heads, framing") {
  auto req =
      net::parse_request_head("POST /v1/x?a=1 HTTP/1.1\r\nHost: api.example.com\r\nTransfer-Encoding: chunked\r\n\r\n");
  REQUIRE(req);
  CHECK(req->method == "POST");
  CHECK(req->target == "/v1/x?a=1");
  CHECK(*req->header("HOST") == "api.example.com");
  CHECK(net::request_framing(*req)->kind == net::BodyKind::Chunked);
  // RFC 9112 6.3: both Transfer-Encoding and Content-Length is a smuggling vector: refused.
  auto smuggle =
      net::parse_request_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
  REQUIRE(smuggle);
  CHECK_FALSE(net::request_framing(*smuggle));
  auto dup = net::parse_request_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n");
  CHECK_FALSE(net::request_framing(*dup));
  CHECK_FALSE(net::parse_request_head("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"));
  CHECK_FALSE(net::parse_request_head("GET / HTTP/1.1\r\nBad Header: a\r\n\r\n"));
  auto resp = net::parse_response_head("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n");
  REQUIRE(resp);
  CHECK(net::response_framing(*resp, "GET")->kind == net::BodyKind::None);
  auto ok = net::parse_response_head("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").value();
  CHECK(net::response_framing(ok, "GET")->kind == net::BodyKind::UntilClose);
  CHECK(net::response_framing(ok, "HEAD")->kind == net::BodyKind::None);
  CHECK_FALSE(net::keeps_alive(*req, ok));
  auto http10 = net::parse_request_head("GET / HTTP/1.0\r\n\r\n").value();
  auto ka = net::parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").value();
  CHECK_FALSE(net::keeps_alive(http10, ka));
  CHECK(net::keeps_alive(*req, ka));
  CHECK(net::looks_like_http_request("GET / HTTP/1.1\r\n") == net::Sniff::Yes);
  CHECK(net::looks_like_http_request("PO") == net::Sniff::NeedMore);
  CHECK(net::looks_like_http_request("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n") == net::Sniff::No);
}

TEST_CASE("secrets: placeholders replaced in headers, query and Basic auth for bound hosts only") {
  std::string ph = net::generate_placeholder().value();
  REQUIRE(ph.size() == net::k_placeholder_size);
  CHECK(ph != net::generate_placeholder().value());
  net::SecretTable table;
  table.add({"GH_TOKEN", ph, "ghp_REALVALUE", rules({"api.github.com"}), {}});
  std::string head = "GET /repos?token=" + ph + "&x=1 HTTP/1.1\r\nHost: api.github.com\r\nAuthorization: Bearer " + ph +
                     "\r\nX-Basic: x\r\nAuthorization: Basic " + net::base64_encode("user:" + ph) + "\r\n\r\n";
  auto req = net::parse_request_head(head).value();
  auto tls = [](std::string_view host, uint16_t port = 443) {
    return net::InjectionScope{host, port, host, port, net::Transport::Tls};
  };
  auto r = table.rewrite(req, tls("api.github.com"));
  REQUIRE(r);
  CHECK(r->injected == std::vector<std::string>{"GH_TOKEN"});
  CHECK(req.target == "/repos?token=ghp_REALVALUE&x=1");
  CHECK(req.headers[1].value == "Bearer ghp_REALVALUE");
  CHECK(req.headers[3].value == "Basic " + net::base64_encode("user:ghp_REALVALUE"));

  auto other = net::parse_request_head(head).value();
  auto refused = table.rewrite(other, tls("evil.example"));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == util::ErrorCode::Denied);
  CHECK(refused.error().message().find("GH_TOKEN") != std::string::npos);
  CHECK(refused.error().message().find("ghp_REALVALUE") == std::string::npos);
  CHECK(other.target.find(ph) != std::string::npos);  // untouched when refused

  auto plain = net::parse_request_head(head).value();
  auto clear = table.rewrite(plain, {"api.github.com", 80, "api.github.com", 80, net::Transport::PlainHttp});
  REQUIRE_FALSE(clear);
  CHECK(clear.error().message().find("plain HTTP") != std::string::npos);

  net::SecretTable header_only;
  header_only.add({"K", ph, "v", rules({"api.github.com"}), {true, false, false}});
  auto q = net::parse_request_head("GET /?k=" + ph + " HTTP/1.1\r\nHost: api.github.com\r\n\r\n").value();
  CHECK_FALSE(header_only.rewrite(q, tls("api.github.com")));

  auto none = net::parse_request_head(
                  "GET / HTTP/1.1\r\nHost: x\r\nX: MATCHLOCK_SECRET_00000000000000000000000000000000\r\n\r\n")
                  .value();
  auto unknown = table.rewrite(none, {"x", 80, "x", 80, net::Transport::PlainHttp});
  REQUIRE(unknown);  // not one of ours: an ordinary string
  CHECK(unknown->injected.empty());
}

TEST_CASE("base64 round trip") {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "user:pass\xff"}) {
    std::string out;
    REQUIRE(net::base64_decode(net::base64_encode(s), out));
    CHECK(out == s);
  }
  std::string out;
  CHECK_FALSE(net::base64_decode("abc", out));
  CHECK_FALSE(net::base64_decode("a=bc", out));
}
