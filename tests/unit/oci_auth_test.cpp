// WWW-Authenticate, token responses, docker config.json credentials, registry settings.
#include <catch2/catch.hpp>

#include "oci/auth.hpp"
#include "oci/docker_config.hpp"
#include "oci/registry_settings.hpp"
#include "util/fs.hpp"

namespace {
std::string fixture(const std::string& name) {
  auto r = util::read_file(std::string(MATCHLOCK_FIXTURES) + "/oci/" + name);
  REQUIRE(r);
  return *r;
}
}  // namespace

TEST_CASE("WWW-Authenticate: every real challenge in the fixture parses") {
  std::string text = fixture("www-authenticate-examples.txt");
  size_t n = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    if (line.empty() || line[0] == '#' || line.starts_with("## ")) continue;
    if (!(line.starts_with("Bearer") || line.starts_with("Basic"))) continue;
    auto c = oci::parse_www_authenticate(line);
    INFO(line);
    REQUIRE(c);
    REQUIRE(!c->empty());
    if ((*c)[0].scheme == "bearer") CHECK((*c)[0].params.count("realm") == 1);
    ++n;
  }
  CHECK(n >= 5);
}

TEST_CASE("WWW-Authenticate: Docker Hub challenge fields and token URL") {
  auto c = oci::parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/x:pull",error="insufficient_scope")");
  REQUIRE(c);
  REQUIRE(c->size() == 1);
  const auto& ch = (*c)[0];
  CHECK(ch.scheme == "bearer");
  CHECK(ch.params.at("realm") == "https://auth.docker.io/token");
  CHECK(ch.params.at("error") == "insufficient_scope");
  // The scope is ours, not the challenge's (GHCR sends a placeholder on /v2/).
  CHECK(oci::token_url(ch, "library/busybox") ==
        "https://auth.docker.io/token?service=registry.docker.io&scope=repository:library/busybox:pull");
}

TEST_CASE("WWW-Authenticate: several challenges and Basic") {
  auto c = oci::parse_www_authenticate(R"(Basic realm="x y", Bearer realm="https://t/token",service="s")");
  REQUIRE(c);
  REQUIRE(c->size() == 2);
  CHECK((*c)[0].scheme == "basic");
  CHECK((*c)[0].params.at("realm") == "x y");
  CHECK((*c)[1].params.at("service") == "s");
  CHECK(!oci::parse_www_authenticate(R"(Bearer realm="unterminated)"));
  CHECK(!oci::parse_www_authenticate(""));
}

TEST_CASE("token responses: token, access_token, expires_in") {
  auto t1 = oci::parse_token_response(fixture("distribution-spec.token-response-example.json"));
  REQUIRE(t1);
  CHECK(t1->expires_in == 3600);
  auto t2 = oci::parse_token_response(fixture("distribution-spec.oauth-access_token-only-response.json"));
  REQUIRE(t2);
  CHECK(t2->token == "eyJhbGciOiJFUzI1NiIsInR5");
  CHECK(t2->expires_in == 900);
  auto t3 = oci::parse_token_response(fixture("ghcr-token-response.json"));
  REQUIRE(t3);
  CHECK(t3->expires_in == 60);  // absent: the spec's default
  CHECK(!oci::parse_token_response(R"({"expires_in":10})"));
  auto t4 = oci::parse_token_response(R"({"token":"t","expires_in":1})");
  REQUIRE(t4);
  CHECK(t4->expires_in == 1);  // short-lived tokens are renewed on time, not clamped to 60 s
  auto t5 = oci::parse_token_response(R"({"token":"t","expires_in":0})");
  REQUIRE(t5);
  CHECK(t5->expires_in == 60);
}

TEST_CASE("docker config: auths with base64 auth, hub aliases, helpers") {
  std::string cfg =
      R"({"auths":{"https://index.docker.io/v1/":{"auth":")" + oci::base64_encode("hub:pw") +
      R"("},"127.0.0.1:5000":{"username":"u","password":"p:q"}},"credHelpers":{"ghcr.io":"gh"},"credsStore":"desktop"})";
  std::vector<std::string> calls;
  oci::CredentialHelper helper = [&](std::string_view name, std::string_view server) -> util::Result<std::string> {
    calls.push_back(std::string(name) + " " + std::string(server));
    return std::string(R"({"ServerURL":"x","Username":"hu","Secret":"hs"})");
  };
  auto hub = oci::credentials_from_docker_config(cfg, "docker.io", helper);
  REQUIRE(hub);
  REQUIRE(*hub);
  CHECK((*hub)->username == "hub");
  CHECK((*hub)->password == "pw");
  auto local = oci::credentials_from_docker_config(cfg, "127.0.0.1:5000", helper);
  REQUIRE(local);
  CHECK((*local)->password == "p:q");
  auto gh = oci::credentials_from_docker_config(cfg, "ghcr.io", helper);
  REQUIRE(gh);
  CHECK((*gh)->username == "hu");
  auto other = oci::credentials_from_docker_config(cfg, "quay.io", helper);
  REQUIRE(other);
  REQUIRE(*other);  // falls back to credsStore
  CHECK((*other)->password == "hs");
  CHECK(calls == std::vector<std::string>{"gh ghcr.io", "desktop quay.io"});
  auto none = oci::credentials_from_docker_config(R"({"auths":{}})", "quay.io", helper);
  REQUIRE(none);
  CHECK(!*none);
  CHECK(!oci::credentials_from_docker_config(R"({"auths":{"x":{"auth":"bm9jb2xvbg=="}}})", "x", helper));  // "nocolon"
}

TEST_CASE("base64 round trip") {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "user:p@ss:word"})
    CHECK(oci::base64_decode(oci::base64_encode(s)).value() == s);
  CHECK(oci::base64_encode("hub:pw") == "aHViOnB3");
}

TEST_CASE("registry settings: mirrors and insecure, errors with file:line:col") {
  auto s = oci::RegistrySettings::parse(R"(
[registry."docker.io"]
mirrors = ["127.0.0.1:5000", "oci-layout:/srv/mirror"]
[registry."reg.local:5000"]
insecure = true
)",
                                        "config.toml");
  REQUIRE(s);
  REQUIRE(s->find("docker.io"));
  CHECK(s->find("docker.io")->mirrors.size() == 2);
  CHECK(s->find("reg.local:5000")->insecure);
  CHECK(!s->find("quay.io"));
  auto bad = oci::RegistrySettings::parse("[registry.\"x\"]\ninsecure = \"yes\"\n", "config.toml");
  REQUIRE(!bad);
  CHECK(bad.error().message().starts_with("config.toml:2:"));
}
