// What comes back from a secret-bound upstream toward the (hostile) guest: known values
// and new tokens shaped like them become placeholders (net/secret_scrubber.hpp), whatever
// way the bytes are cut; a learned token is injected toward its hosts only. Plus the rule
// algebra the machine policy uses (net/rule.hpp rule_within, rules_overlap).
#include <catch2/catch.hpp>
#include <string>

#include "net/http_request_check.hpp"
#include "net/rule.hpp"
#include "net/secret_scrubber.hpp"
#include "net/secrets.hpp"

namespace {

std::vector<net::Rule> rules(std::initializer_list<const char*> texts) {
  std::vector<net::Rule> out;
  for (const char* t : texts) out.push_back(net::parse_rule(t).value());
  return out;
}

const std::string k_access = "sk-ant-oat01-Q2hhbmdlTWVQbGVhc2VfMDEyMzQ1Njc4OWFiY2Rl";
const std::string k_refresh = "sk-ant-ort01-UmVmcmVzaE1lUGxlYXNlXzAxMjM0NTY3ODlhYmNk";
const std::string k_ph_access = "MATCHLOCK_SECRET_0123456789abcdef0123456789abcdef";
const std::string k_ph_refresh = "MATCHLOCK_SECRET_fedcba9876543210fedcba9876543210";

struct Table {
  net::SecretTable t;
  Table() {
    t.add({"C.access", k_ph_access, k_access, rules({"api.example.com", "console.example.com"}), {}});
    t.add({"C.refresh", k_ph_refresh, k_refresh, rules({"console.example.com"}), {}});
  }
};

// Feeds TEXT in pieces of STEP bytes; returns everything the guest would get.
std::string through(const net::SecretTable& t, const std::string& text, size_t step,
                    std::string_view conn = "console.example.com", std::vector<std::string>* replaced = nullptr) {
  net::SecretScrubber s(t, conn, 443);
  std::string out;
  for (size_t i = 0; i < text.size(); i += step) out += s.feed(text.substr(i, step)).value();
  out += s.finish().value();
  if (replaced) *replaced = s.replaced();
  return out;
}

bool holds_real(const net::SecretTable& t, const std::string& text) {
  for (const auto& b : t.bindings())
    if (text.find(b.value) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("token shapes: scheme prefixes and JWTs, nothing for random hex") {
  auto a = net::token_shape(k_access);
  REQUIRE(a);
  CHECK(a->prefix == "sk-ant-oat01-");
  CHECK_FALSE(a->jwt);
  CHECK(net::token_shape("npm_AbCdEfGhIjKlMnOpQrStUvWxYz012345")->prefix == "npm_");
  CHECK(net::token_shape("github_pat_11ABCDEFG0abcdefghijklmnopqrstuvwxyz")->prefix == "github_pat_");
  auto jwt = net::token_shape("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ");
  REQUIRE(jwt);
  CHECK(jwt->jwt);
  CHECK_FALSE(net::token_shape("0123456789abcdef0123456789abcdef"));  // no scheme: only the value itself is known
  CHECK_FALSE(net::token_shape("sk-short"));
}

TEST_CASE("scrubber: a known value never reaches the guest, however the body is cut") {
  Table t;
  const std::string body = R"({"echo":")" + k_access + R"(","again":")" + k_access + "\"}";
  for (size_t step : {1, 2, 3, 7, 13, 64, 4096}) {
    INFO("step " << step);
    std::vector<std::string> names;
    std::string out = through(t.t, body, step, "console.example.com", &names);
    CHECK(out == R"({"echo":")" + k_ph_access + R"(","again":")" + k_ph_access + "\"}");
    CHECK(names == std::vector<std::string>{"C.access"});
  }
  // On a connection the secret is not bound to (any other intercepted host) too.
  CHECK(through(t.t, "x" + k_refresh + "y", 5, "api.example.com") == "x" + k_ph_refresh + "y");
  CHECK(through(t.t, "plain text, nothing to see", 3) == "plain text, nothing to see");
}

TEST_CASE("scrubber: an OAuth refresh's new tokens come back as new placeholders that still work") {
  Table t;
  const std::string new_access = "sk-ant-oat01-TmV3QWNjZXNzVG9rZW5fOTg3NjU0MzIxMGZlZGNiYQ";
  const std::string new_refresh = "sk-ant-ort01-TmV3UmVmcmVzaFRva2VuXzk4NzY1NDMyMTBmZWRjYg";
  const std::string body = R"({"token_type":"Bearer","access_token":")" + new_access + R"(","refresh_token":")" +
                           new_refresh + R"(","expires_in":28800})";
  std::string out = through(t.t, body, 11);
  CHECK(out.find(new_access) == std::string::npos);
  CHECK(out.find(new_refresh) == std::string::npos);
  CHECK(out.find("\"expires_in\":28800") != std::string::npos);
  // The guest's copy names two fresh placeholders.
  auto pos = out.find("\"access_token\":\"") + 16;
  std::string ph = out.substr(pos, net::k_placeholder_size);
  CHECK(ph.starts_with("MATCHLOCK_SECRET_"));
  CHECK(ph != k_ph_access);
  // The same token seen again maps to the same placeholder.
  CHECK(through(t.t, "again " + new_access, 4).find(ph) != std::string::npos);

  // Using it: injected toward the original secret's hosts, refused elsewhere.
  net::Policy policy(rules({"api.example.com", "evil.example.net"}), {}, net::BlockPrivate::Yes);
  auto req =
      net::parse_request_head("GET /v1 HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer " + ph + "\r\n\r\n")
          .value();
  auto v = net::check_request(req, {"api.example.com", 443, net::Transport::Tls}, policy, &t.t);
  CHECK_FALSE(v.refused());
  CHECK(*req.header("authorization") == "Bearer " + new_access);
  auto away = net::parse_request_head("GET / HTTP/1.1\r\nHost: evil.example.net\r\nX: " + ph + "\r\n\r\n").value();
  CHECK(net::check_request(away, {"evil.example.net", 443, net::Transport::Tls}, policy, &t.t).status == 403);
  auto routing =
      net::parse_request_head("GET / HTTP/1.1\r\nHost: api.example.com\r\nConnection: " + ph + "\r\n\r\n").value();
  CHECK(net::check_request(routing, {"api.example.com", 443, net::Transport::Tls}, policy, &t.t).status == 403);
  CHECK_FALSE(holds_real(t.t, out));
}

TEST_CASE("scrubber: token shapes are learned only on the secret's own hosts and at token boundaries") {
  Table t;
  const std::string lookalike = "sk-ant-ort01-AnotherTokenThatLooksRight_0123456789ab";
  // api.example.com is not a host of C.refresh: a refresh-shaped token there is not learned.
  CHECK(through(t.t, lookalike, 9, "api.example.com") == lookalike);
  // Inside a longer word it is no token.
  CHECK(through(t.t, "xsk-ant-ort01-AnotherTokenThatLooksRight_0123456789ab", 9) ==
        "xsk-ant-ort01-AnotherTokenThatLooksRight_0123456789ab");
  // Far too short or too long: not the same kind of token.
  CHECK(through(t.t, "sk-ant-ort01-short", 4) == "sk-ant-ort01-short");
  // A JWT secret: any JWT from its host is a new token.
  net::SecretTable jt;
  const std::string id = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
  jt.add({"ID", k_ph_access, id, rules({"auth.example.com"}), {}});
  std::string other = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbm90aGVyIn0.YW5vdGhlci1zaWduYXR1cmUtaGVyZQ";
  std::string out = through(jt, "{\"id_token\":\"" + other + "\"}", 6, "auth.example.com");
  CHECK(out.find(other) == std::string::npos);
  CHECK(out.find("MATCHLOCK_SECRET_") != std::string::npos);
}

TEST_CASE("scrubber: learning is bounded") {
  net::SecretTable t;
  t.add({"T", k_ph_access, "npm_AbCdEfGhIjKlMnOpQrStUvWxYz012345", rules({"registry.example.com"}), {}});
  for (size_t i = 0; i < net::SecretTable::k_max_learned + 3; ++i) {
    std::string token = "npm_AbCdEfGhIjKlMnOpQrSt" + std::to_string(100000 + i) + "xyz";
    std::string out = through(t, token, 7, "registry.example.com");
    CHECK(out.starts_with("MATCHLOCK_SECRET_"));
  }
  size_t withheld = 0;
  for (const auto& b : t.bindings()) withheld += b.name.ends_with("+withheld") && b.hosts.empty();
  CHECK(withheld == 3);
}

TEST_CASE("rules: within and overlap, for the machine policy") {
  auto r = [](const char* s) { return net::parse_rule(s).value(); };
  CHECK(net::rule_within(r("a.example.com"), r("*.example.com")));
  CHECK(net::rule_within(r("*.a.example.com"), r("*.example.com")));
  CHECK_FALSE(net::rule_within(r("example.com"), r("*.example.com")));
  CHECK_FALSE(net::rule_within(r("*.example.com"), r("a.example.com")));
  CHECK(net::rule_within(r("example.com:443"), r("example.com")));
  CHECK_FALSE(net::rule_within(r("example.com"), r("example.com:443")));
  CHECK(net::rule_within(r("10.1.0.0/16"), r("10.0.0.0/8")));
  CHECK_FALSE(net::rule_within(r("10.0.0.0/8"), r("10.1.0.0/16")));
  CHECK_FALSE(net::rule_within(r("10.0.0.1"), r("*.example.com")));
  CHECK(net::rules_overlap(r("*.example.com"), r("a.example.com")));
  CHECK(net::rules_overlap(r("example.com"), r("example.com:22")));
  CHECK_FALSE(net::rules_overlap(r("example.com:443"), r("example.com:22")));
  CHECK_FALSE(net::rules_overlap(r("*.a.com"), r("*.b.com")));
  CHECK(net::rules_overlap(r("10.0.0.0/8"), r("10.2.3.4")));
}

TEST_CASE("refresh_url: a POST body to the token endpoint gets the value, encoded for the body, nowhere else") {
  net::SecretTable t;
  const std::string url = net::canonical_https_url("Console.Example.com", 443, "/v1/oauth/token");
  CHECK(url == "https://console.example.com/v1/oauth/token");
  CHECK(net::canonical_https_url("h.example", 8443, "/t") == "https://h.example:8443/t");
  const std::string value = "sk-ant-ort01-a+b/c=\"q\"\\";
  t.add({"R", k_ph_refresh, value, rules({"console.example.com"}), {}, url});
  t.add({"A", k_ph_access, k_access, rules({"console.example.com"}), {}});
  CHECK(t.has_refresh_url(url));
  CHECK_FALSE(t.has_refresh_url("https://console.example.com/v1/other"));
  net::InjectionScope scope{"console.example.com", 443, "console.example.com", 443, net::Transport::Tls};

  std::string json =
      R"({"grant_type":"refresh_token","refresh_token":")" + k_ph_refresh + R"(","a":")" + k_ph_access + "\"}";
  auto r = t.rewrite_body(json, url, "application/json; charset=utf-8", scope);
  REQUIRE(r);
  CHECK(r->injected == std::vector<std::string>{"R"});
  // JSON escapes for the value; the access token's placeholder (no refresh_url) untouched.
  CHECK(json ==
        R"({"grant_type":"refresh_token","refresh_token":"sk-ant-ort01-a+b/c=\"q\"\\","a":")" + k_ph_access + "\"}");

  std::string form = "grant_type=refresh_token&refresh_token=" + k_ph_refresh;
  REQUIRE(t.rewrite_body(form, url, "application/x-www-form-urlencoded", scope));
  CHECK(form == "grant_type=refresh_token&refresh_token=sk-ant-ort01-a%2Bb%2Fc%3D%22q%22%5C");

  // Another endpoint: nothing replaced (the caller never reads such bodies whole anyway).
  std::string other = "token=" + k_ph_refresh;
  REQUIRE(t.rewrite_body(other, "https://console.example.com/v1/other", "text/plain", scope));
  CHECK(other == "token=" + k_ph_refresh);
  // The endpoint's URL over a connection to another name (fronting), or over plain HTTP: refused.
  std::string fronted = "t=" + k_ph_refresh;
  net::InjectionScope front{"evil.example.net", 443, "console.example.com", 443, net::Transport::Tls};
  auto refused = t.rewrite_body(fronted, url, "text/plain", front);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message().find(value) == std::string::npos);
  CHECK(fronted == "t=" + k_ph_refresh);
  net::InjectionScope plain{"console.example.com", 80, "console.example.com", 80, net::Transport::PlainHttp};
  CHECK_FALSE(t.rewrite_body(fronted, url, "text/plain", plain));

  // A learned (refreshed) token inherits the endpoint.
  net::SecretTable l;
  l.add({"R", k_ph_refresh, k_refresh, rules({"console.example.com"}), {}, url});
  const std::string next = "sk-ant-ort01-TmV4dFJlZnJlc2hUb2tlbl85ODc2NTQzMjEwZmVkY2Jh";
  std::string out = through(l, "{\"refresh_token\":\"" + next + "\"}", 5);
  std::string ph = out.substr(out.find("MATCHLOCK_SECRET_"), net::k_placeholder_size);
  std::string again = "refresh_token=" + ph;
  REQUIRE(l.rewrite_body(again, url, "application/x-www-form-urlencoded", scope));
  CHECK(again == "refresh_token=" + next);
}
