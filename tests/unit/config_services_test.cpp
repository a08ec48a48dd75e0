// [network.services] in the Matchlockfile: parsed strictly with every error positioned,
// shown in the trust grants (a new service widens), and enforced by the policy built from
// the file (engine::network_policy). Spec: docs/matchlockfile.md "[network.services]".
#include <catch2/catch.hpp>

#include <algorithm>

#include "engine/config_parse.hpp"
#include "engine/net_setup.hpp"
#include "engine/trust.hpp"

namespace {

const std::string k_head = "version = 1\n[sandbox]\nimage = \"a\"\n[network]\n";

engine::ParseResult parse(const std::string& text) { return engine::parse_config(text, "Matchlockfile", "/p"); }

std::string errors(const std::string& text) {
  std::string out = parse(text).diagnostics.format("");
  std::string stripped;
  for (size_t pos = 0; pos < out.size();) {
    size_t nl = out.find('\n', pos);
    stripped += out.substr(pos + 1, nl - pos);
    pos = nl + 1;
  }
  return stripped;
}

}  // namespace

TEST_CASE("services: string and table forms, sorted, guest port defaults to the host port") {
  auto r = parse(k_head +
                 "[network.services]\nweb = { to = \"127.0.0.1:18080\", port = 8080 }\n"
                 "postgres = \"127.0.0.1:5432\"\nlan-db = { to = \"10.0.0.5:5432\" }\n");
  REQUIRE(r.diagnostics.empty());
  const auto& s = r.config->network.services;
  REQUIRE(s.size() == 3);
  CHECK(s[0].name == "lan-db");
  CHECK(s[0].text() == "lan-db.host.internal:5432 -> 10.0.0.5:5432");
  CHECK(s[1].text() == "postgres.host.internal:5432 -> 127.0.0.1:5432");
  CHECK(s[2].text() == "web.host.internal:8080 -> 127.0.0.1:18080");
  CHECK(r.config->pos("network.services.postgres") == engine::SourcePos{7, 12});
  CHECK(r.config->pos("network.services.web.port") == engine::SourcePos{6, 40});

  net::Policy p = engine::network_policy(*r.config);
  CHECK(p.decide_name("web.host.internal", 8080).allowed());
  CHECK_FALSE(p.decide_name("web.host.internal", 18080).allowed());
  CHECK(p.find_service("web.host.internal", 8080)->target() == "127.0.0.1:18080");
  CHECK_FALSE(p.decide_address(net::parse_ipv4("127.0.0.1").value(), 5432).allowed());
}

TEST_CASE("services: every mistake reported with its position") {
  std::string text = k_head +
                     "[network.services]\n"
                     "Postgres = \"127.0.0.1:5432\"\n"           // 6: not a label
                     "a = \"localhost:5432\"\n"                  // 7: a name
                     "b = \"127.0.0.1\"\n"                       // 8: no port
                     "c = 5432\n"                                // 9: wrong type
                     "d = { port = 5432 }\n"                     // 10: no to
                     "e = { to = \"127.0.0.1:1\", port = 0 }\n"  // 11
                     "f = { to = \"0.0.0.0:80\", via = 1 }\n"    // 12: unknown key, 0/8
                     "g = \"127.0.0.1:70000\"\n";                // 13
  CHECK(errors(text) ==
        "6:1: network.services: \"Postgres\" is not a service name (lowercase letters, digits and '-', starting with "
        "a letter, at most 63 characters; the sandbox reaches it as NAME.host.internal)\n"
        "7:5: network.services.a \"localhost:5432\": the address must be an IPv4 address such as 127.0.0.1 (names "
        "are not resolved: a host service is one fixed endpoint)\n"
        "8:5: network.services.b \"127.0.0.1\": must be ADDRESS:PORT (\"127.0.0.1:5432\")\n"
        "9:5: network.services.c must be \"ADDRESS:PORT\" or { to = \"ADDRESS:PORT\", port = PORT }, not an integer\n"
        "10:5: network.services.d needs to = \"ADDRESS:PORT\" (the host-side endpoint)\n"
        "11:34: network.services.e.port must be 1..65535\n"
        "12:12: network.services.f.to \"0.0.0.0:80\": the address 0.0.0.0 cannot be connected to (0/8, multicast, "
        "240/4 and broadcast are refused)\n"
        "12:26: unknown key \"via\" in [network.services.f]\n"
        "13:5: network.services.g \"127.0.0.1:70000\": the port must be 1..65535\n");
}

TEST_CASE("services: allow, deny and secret hosts cannot name host.internal") {
  std::string text = k_head +
                     "allow = [\"db.host.internal:5432\"]\ndeny = [\"*.host.internal\"]\n"
                     "[secrets.T]\nfrom = \"env:T\"\nhosts = [\"postgres.host.internal\"]\n";
  std::string e = errors(text);
  CHECK(e.find("5:10: network.allow: invalid network rule \"db.host.internal:5432\": host.internal names are host "
               "services") != std::string::npos);
  CHECK(e.find("6:9: network.deny: invalid network rule \"*.host.internal\"") != std::string::npos);
  CHECK(e.find("9:10: secrets.T.hosts: invalid network rule \"postgres.host.internal\"") != std::string::npos);
}

TEST_CASE("services: the trust prompt names each service, and a new one needs approval") {
  auto base = parse(k_head + "allow = [\"a.com\"]\n");
  auto more = parse(k_head + "allow = [\"a.com\"]\n[network.services]\npg = \"127.0.0.1:5432\"\n");
  REQUIRE(base.config);
  REQUIRE(more.config);
  auto g = engine::trust_grants(*more.config);
  CHECK(std::find(g.begin(), g.end(), "network service pg.host.internal:5432 -> 127.0.0.1:5432") != g.end());
  CHECK(engine::widenings(engine::trust_grants(*base.config), g) ==
        std::vector<std::string>{"network service pg.host.internal:5432 -> 127.0.0.1:5432"});
  auto moved = parse(k_head + "allow = [\"a.com\"]\n[network.services]\npg = \"127.0.0.1:5433\"\n");
  REQUIRE(moved.config);
  CHECK(engine::widenings(g, engine::trust_grants(*moved.config)).size() == 1);  // another endpoint: ask again
}
