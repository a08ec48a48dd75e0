// Host services ([network.services], net/host_service.hpp) decided without sockets: a
// service admits its own name on its own port and nothing else; no rule can name the
// service domain; the declared address is never opened to other names or raw dials;
// Host/SNI games on a service's connection are judged like any other fronting.
#include <catch2/catch.hpp>

#include "net/dns_responder.hpp"
#include "net/host_service.hpp"
#include "net/http_request_check.hpp"
#include "net/policy.hpp"

namespace {

std::vector<net::Rule> rules(std::initializer_list<const char*> texts) {
  std::vector<net::Rule> out;
  for (const char* t : texts) out.push_back(net::parse_rule(t).value());
  return out;
}

net::Ipv4 ip(const char* text) { return net::parse_ipv4(text).value(); }

// postgres.host.internal:5432 -> 127.0.0.1:5432; web.host.internal:8080 -> 127.0.0.1:18080;
// plus an ordinary allow list (with "localhost", whose host answer is 127.0.0.1).
net::Policy service_policy() {
  net::Policy p(rules({"allowed.test", "localhost", "*.example.com"}), rules({"deny.example.com"}),
                net::BlockPrivate::Yes);
  p.add_service({"postgres", 5432, ip("127.0.0.1"), 5432});
  p.add_service({"web", 8080, ip("127.0.0.1"), 18080});
  return p;
}

}  // namespace

TEST_CASE("service: only NAME.host.internal on the service's own port is admitted") {
  net::Policy p = service_policy();
  struct Case {
    const char* host;
    uint16_t port;
    bool allowed;
  };
  const Case cases[] = {
      {"postgres.host.internal", 5432, true},
      {"POSTGRES.Host.Internal.", 5432, true},  // canonical form
      {"postgres.host.internal", 5433, false},  // another port on the service name
      {"postgres.host.internal", 80, false},
      {"postgres.host.internal", 18080, false},  // the other service's host-side port
      {"web.host.internal", 8080, true},
      {"web.host.internal", 18080, false},   // the host-side port is not a guest port
      {"mysql.host.internal", 3306, false},  // undeclared service
      {"host.internal", 5432, false},
      {"x.postgres.host.internal", 5432, false},  // names below a service
      {"postgres.host.internal.allowed.test", 5432, false},
  };
  for (const auto& c : cases) {
    INFO(c.host << ":" << c.port);
    auto d = p.decide_name(c.host, c.port);
    CHECK(d.allowed() == c.allowed);
    if (c.allowed) CHECK(d.reason.find("network.services.") != std::string::npos);
  }
  const net::HostService* s = p.find_service("postgres.host.internal", 5432);
  REQUIRE(s);
  CHECK(s->target() == "127.0.0.1:5432");
  CHECK(p.find_service("postgres.host.internal", 5433) == nullptr);
  CHECK(p.find_service("web.host.internal", 8080)->to_port == 18080);
  CHECK(p.decide_name("postgres.host.internal", 5433).reason.find("port 5432 only") != std::string::npos);
}

TEST_CASE("service: the declared address stays closed to raw dials and to other names (block_private)") {
  net::Policy p = service_policy();
  // A guest dialing the host address itself, the gateway, or a LAN address: no CIDR rule.
  for (const char* a : {"127.0.0.1", "192.168.127.1", "10.0.0.5", "172.17.0.1"})
    for (uint16_t port : {5432, 18080, 22}) {
      INFO(a << ":" << port);
      CHECK_FALSE(p.decide_address(ip(a), port).allowed());
    }
  // An allowed name whose host-side answer is the service's address (DNS rebinding, or
  // "localhost" allowed by mistake): refused as private, service or not.
  CHECK_FALSE(p.check_upstream_address("localhost", ip("127.0.0.1"), 5432).allowed());
  CHECK_FALSE(p.check_upstream_address("rebind.example.com", ip("127.0.0.1"), 18080).allowed());
  CHECK_FALSE(p.check_upstream_address("rebind.example.com", ip("10.0.0.5"), 5432).allowed());
}

TEST_CASE("service: a CIDR deny entry covering the endpoint wins, as for a resolved name") {
  net::Policy p(rules({"allowed.test"}), rules({"127.0.0.0/8:18080"}), net::BlockPrivate::Yes);
  p.add_service({"pg", 5432, ip("127.0.0.1"), 5432});
  p.add_service({"web", 8080, ip("127.0.0.1"), 18080});
  CHECK(p.decide_name("pg.host.internal", 5432).allowed());
  auto d = p.decide_name("web.host.internal", 8080);
  CHECK_FALSE(d.allowed());
  CHECK(d.rule == "127.0.0.0/8:18080");
}

TEST_CASE("service: DNS answers declared service names only") {
  net::Policy p = service_policy();
  CHECK(p.decide_dns("postgres.host.internal").allowed());
  CHECK(p.decide_dns("Web.Host.Internal.").allowed());
  CHECK_FALSE(p.decide_dns("mysql.host.internal").allowed());
  CHECK_FALSE(p.decide_dns("host.internal").allowed());
  CHECK_FALSE(p.decide_dns("a.postgres.host.internal").allowed());
  auto names = std::make_shared<net::NameMap>();
  net::DnsResponder dns(
      names, [&](std::string_view n) { return p.decide_dns(n).allowed(); }, 5);
  std::vector<uint8_t> q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  for (std::string label : {"postgres", "host", "internal"}) {
    q.push_back(static_cast<uint8_t>(label.size()));
    q.insert(q.end(), label.begin(), label.end());
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});
  auto r = dns.answer(q);
  REQUIRE(r);
  CHECK(((*r)[3] & 0x0f) == 0);  // NOERROR with the synthetic address
  auto a = names->address_for("postgres.host.internal");
  REQUIRE(a);
  CHECK(names->is_synthetic(*a));
  CHECK(names->name_for(*a) == "postgres.host.internal");
}

TEST_CASE("service: no rule may name the service domain (allow, deny, secret hosts)") {
  for (const char* text : {"host.internal", "postgres.host.internal", "postgres.host.internal:5432", "*.host.internal",
                           "*.postgres.host.internal", "HOST.INTERNAL"}) {
    INFO(text);
    auto r = net::parse_rule(text);
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("[network.services]") != std::string::npos);
  }
  CHECK(net::parse_rule("internal").has_value());  // a TLD rule is not the service domain
  CHECK(net::parse_rule("myhost.internal").has_value());
  CHECK(net::parse_rule("host.internal.example.com").has_value());
  // A rule that could match the domain from above still admits no service name.
  net::Policy p(rules({"internal", "myhost.internal"}), {}, net::BlockPrivate::No);
  CHECK_FALSE(p.decide_name("x.host.internal", 443).allowed());
  CHECK_FALSE(p.decide_dns("x.host.internal").allowed());
}

TEST_CASE("service: names and targets are strict") {
  for (const char* ok : {"postgres", "db-1", "a", "x0"}) CHECK(net::is_valid_service_name(ok));
  for (const char* bad : {"", "Postgres", "1db", "-db", "db-", "db.x", "db_x", "db x", "d\xc3\xa9"})
    CHECK_FALSE(net::is_valid_service_name(bad));
  CHECK_FALSE(net::is_valid_service_name(std::string(64, 'a')));
  CHECK(net::in_service_domain("host.internal"));
  CHECK(net::in_service_domain("a.host.internal"));
  CHECK_FALSE(net::in_service_domain("ahost.internal"));
  CHECK_FALSE(net::in_service_domain("host.internal.evil"));

  std::string why;
  auto t = net::parse_service_target("127.0.0.1:5432", &why);
  REQUIRE(t);
  CHECK(t->address == ip("127.0.0.1"));
  CHECK(t->port == 5432);
  CHECK(net::parse_service_target("10.0.0.5:1", &why));
  for (const char* bad : {"127.0.0.1", "localhost:5432", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:", ":5432",
                          "0.0.0.0:5432", "224.0.0.1:5432", "255.255.255.255:80", "127.1:5432", "0x7f.0.0.1:5432",
                          "127.0.0.1:+5432", "[::1]:5432", "127.0.0.1:5432 "}) {
    INFO(bad);
    CHECK_FALSE(net::parse_service_target(bad, &why));
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("service: Host and SNI games on a service's connection") {
  net::Policy p = service_policy();
  struct Case {
    const char* head;
    int status;
  };
  // On web.host.internal:8080 (plain HTTP): the service's own name only, whatever else is allowed.
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: web.host.internal:8080\r\n\r\n", 0},
      {"GET / HTTP/1.1\r\nHost: web.host.internal\r\n\r\n", 0},
      {"GET / HTTP/1.1\r\nHost: WEB.host.internal\r\n\r\n", 0},
      {"GET / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n", 403},  // allowed elsewhere, but not this endpoint's name
      {"GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n", 403},
      {"GET / HTTP/1.1\r\nHost: admin.host.internal:8080\r\n\r\n", 403},     // undeclared service name
      {"GET / HTTP/1.1\r\nHost: postgres.host.internal:8080\r\n\r\n", 403},  // a service on another port
      {"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", 403},               // an address: no CIDR rule
      {"GET / HTTP/1.1\r\nHost: 127.0.0.1:18080\r\n\r\n", 403},
      {"GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n", 403},
      {"GET http://127.0.0.1:8080/ HTTP/1.1\r\nHost: web.host.internal:8080\r\n\r\n", 400},  // absolute-form mismatch
      {"CONNECT 127.0.0.1:5432 HTTP/1.1\r\nHost: web.host.internal:8080\r\n\r\n", 405},
  };
  for (const auto& c : cases) {
    INFO(c.head);
    auto req = net::parse_request_head(c.head);
    REQUIRE(req);
    auto v = net::check_request(*req, {"web.host.internal", 8080, net::Transport::PlainHttp}, p, nullptr);
    CHECK(v.status == c.status);
  }
  // From an ordinary allowed connection, a service name in Host on another port is refused.
  auto req = net::parse_request_head("GET / HTTP/1.1\r\nHost: postgres.host.internal\r\n\r\n");
  REQUIRE(req);
  CHECK(net::check_request(*req, {"allowed.test", 80, net::Transport::PlainHttp}, p, nullptr).status == 403);
  // The refusal says how to declare a service, not how to allow a rule no parser accepts.
  auto d = p.decide_name("mysql.host.internal", 3306);
  CHECK(net::refusal_body("mysql.host.internal", 3306, d).find("[network.services]") != std::string::npos);
  CHECK(net::refusal_body("mysql.host.internal", 3306, d).find("[network].allow") == std::string::npos);
}
