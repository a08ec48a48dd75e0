// matchlock gateway's inputs, parsed from strings (docs/gateway.md): k8s: secret references,
// the --placeholders file, --secret mappings; the local refusal of k8s: secrets; the gateway CA;
// the health endpoints.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "engine/config_parse.hpp"
#include "engine/gateway_setup.hpp"
#include "engine/k8s_secret_ref.hpp"
#include "engine/net_setup.hpp"
#include "net/ca.hpp"
#include "net/gateway.hpp"
#include "net/health_server.hpp"
#include "net/secrets.hpp"
#include "util/temp_dir.hpp"

namespace {

const std::string k_ph = "MATCHLOCK_SECRET_0123456789abcdef0123456789abcdef";
const std::string k_ph2 = "MATCHLOCK_SECRET_fedcba9876543210fedcba9876543210";

}  // namespace

TEST_CASE("k8s secret references are a DNS-1123 Secret name and a Secret key") {
  struct Case {
    const char* text;
    const char* error;  // nullptr: valid
  } cases[] = {
      {"api/token", nullptr},
      {"agent-credentials.v2/gh_token.json", nullptr},
      {"a/.hidden", nullptr},
      {"api", "must be SECRET/KEY"},
      {"/token", "is not a DNS-1123 subdomain"},
      {"Api/token", "is not a DNS-1123 subdomain"},
      {"api-/token", "is not a DNS-1123 subdomain"},
      {"a_b/token", "is not a DNS-1123 subdomain"},
      {"api/", "is not a Secret key"},
      {"api/.", "is not a Secret key"},
      {"api/..", "is not a Secret key"},
      {"api/..data", "is not a Secret key"},
      {"api/a/b", "exactly one '/'"},
      {"api/../../etc/passwd", "exactly one '/'"},
      {"api/to ken", "is not a Secret key"},
      {"api/tok\nen", "is not a Secret key"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = engine::parse_k8s_secret_ref(c.text);
    if (!c.error) {
      REQUIRE(r);
      CHECK(r->text() == c.text);
    } else {
      REQUIRE_FALSE(r);
      CHECK(r.error().message().find(c.error) != std::string::npos);
    }
  }
  CHECK_FALSE(engine::parse_k8s_secret_ref(std::string(254, 'a') + "/k"));
  CHECK(engine::parse_k8s_secret_ref(std::string(253, 'a') + "/k"));
}

TEST_CASE("from = k8s:SECRET/KEY parses; a bad reference is an error at its line") {
  auto ok = engine::parse_config(
      "version = 1\n[sandbox]\nimage = \"alpine\"\n[secrets.GH]\nfrom = \"k8s:creds/gh\"\nhosts = [\"api.github.com\"]\n",
      "Matchlockfile", "/p");
  REQUIRE(ok.config);
  REQUIRE(ok.config->secrets.size() == 1);
  CHECK(ok.config->secrets[0].source == engine::SecretSource::K8s);
  CHECK(ok.config->secrets[0].source_value == "creds/gh");
  auto bad = engine::parse_config(
      "version = 1\n[sandbox]\nimage = \"alpine\"\n[secrets.GH]\nfrom = \"k8s:creds/../x\"\nhosts = [\"a.b\"]\n",
      "Matchlockfile", "/p");
  CHECK(bad.diagnostics.format("M").find("M:5:8: secrets.GH.from: \"creds/../x\": SECRET/KEY has exactly one '/'") !=
        std::string::npos);
}

TEST_CASE("a k8s: secret is refused locally, naming the file and line") {
  auto r = engine::parse_config(
      "version = 1\n[sandbox]\nimage = \"alpine\"\n\n[secrets.GH]\nfrom = \"k8s:creds/gh\"\nhosts = [\"a.b\"]\n",
      "Matchlockfile", "/p");
  REQUIRE(r.config);
  r.config->file = "/p/Matchlockfile";
  auto refused = engine::refuse_cluster_secrets(*r.config);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message() ==
        "/p/Matchlockfile:5: secrets.GH.from \"k8s:creds/gh\": k8s: secrets exist only in a cluster gateway "
        "(matchlock gateway, docs/gateway.md)");
  auto loaded = engine::load_secrets(*r.config);
  REQUIRE_FALSE(loaded);
  CHECK(loaded.error().message() == refused.error().message());
}

TEST_CASE("the placeholders file: a JSON object of valid, distinct placeholders") {
  auto ok = engine::parse_placeholders("{\"A\": \"" + k_ph + "\", \"B.f\": \"" + k_ph2 + "\"}", "ph.json");
  REQUIRE(ok);
  CHECK(ok->at("A") == k_ph);
  CHECK(ok->at("B.f") == k_ph2);
  struct Case {
    std::string text;
    const char* error;
  } cases[] = {
      {"", "ph.json: not JSON"},
      {"[]", "ph.json: must be a JSON object"},
      {"{\"A\": 1}", "ph.json: \"A\": the placeholder must be a string"},
      {"{\"A\": \"MATCHLOCK_SECRET_0123\"}", "ph.json: \"A\": not a placeholder"},
      {"{\"A\": \"MATCHLOCK_SECRET_0123456789ABCDEF0123456789abcdef\"}", "ph.json: \"A\": not a placeholder"},
      {"{\"A\": \"SECRET_0123456789abcdef0123456789abcdef0123456789\"}", "ph.json: \"A\": not a placeholder"},
      {"{\"A\": \"" + k_ph + "\", \"B\": \"" + k_ph + "\"}", "the same placeholder as another secret"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = engine::parse_placeholders(c.text, "ph.json");
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find(c.error) != std::string::npos);
  }
  CHECK(net::is_placeholder(k_ph));
  CHECK_FALSE(net::is_placeholder(k_ph + "0"));
}

TEST_CASE("secret mappings: --secret NAME=SECRET/KEY") {
  auto ok = engine::parse_secret_maps({"GH=creds/gh", "NPM=creds/npm"});
  REQUIRE(ok);
  CHECK(ok->at("GH").text() == "creds/gh");
  struct Case {
    std::vector<std::string> maps;
    const char* error;
  } cases[] = {
      {{"GH"}, "--secret \"GH\": must be NAME=SECRET/KEY"},
      {{"=creds/gh"}, "must be NAME=SECRET/KEY"},
      {{"GH=creds"}, "--secret GH: \"creds\": must be SECRET/KEY"},
      {{"GH=creds/a/b"}, "exactly one '/'"},
      {{"GH=creds/gh", "GH=creds/x"}, "--secret GH: given more than once"},
  };
  for (const auto& c : cases) {
    auto r = engine::parse_secret_maps(c.maps);
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find(c.error) != std::string::npos);
  }
}

TEST_CASE("the gateway CA round-trips through its files and is never overwritten") {
  auto dir = util::TempDir::create(std::filesystem::temp_directory_path(), "ml-gwca");
  REQUIRE(dir);
  auto cert = engine::init_gateway_ca(dir->path() / "ca");
  REQUIRE(cert);
  auto ca = engine::load_gateway_ca(dir->path() / "ca");
  REQUIRE(ca);
  auto leaf = (*ca)->leaf_for("api.example.com");
  REQUIRE(leaf);
  CHECK(X509_verify((*leaf)->cert.get(), X509_get0_pubkey((*ca)->cert())) == 1);
  auto again = engine::init_gateway_ca(dir->path() / "ca");
  REQUIRE_FALSE(again);
  CHECK(again.error().message().find("exists: not overwritten") != std::string::npos);
  // A key of another CA does not load with this certificate.
  auto other = net::SandboxCa::create_for_gateway("other");
  REQUIRE(other);
  auto key = (*other)->key_pem();
  REQUIRE(key);
  auto mismatched = net::SandboxCa::load((*ca)->cert_pem(), *key);
  REQUIRE_FALSE(mismatched);
  CHECK(mismatched.error().message().find("does not belong") != std::string::npos);
  auto leaf_as_ca = net::SandboxCa::load(std::string(), *key);
  CHECK_FALSE(leaf_as_ca);
}

namespace {

// One GET to 127.0.0.1:PORT; the status code, or 0.
int get_status(uint16_t port, const std::string& path) {
  util::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return 0;
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  if (!util::write_all(fd.get(), req)) return 0;
  auto text = util::read_all(fd.get());
  if (!text || text->size() < 12) return 0;
  return std::stoi(text->substr(9, 3));
}

uint16_t port_of(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

}  // namespace

TEST_CASE("health: /healthz while alive, /readyz only once ready") {
  auto listener = net::listen_tcp("127.0.0.1:0");
  REQUIRE(listener);
  uint16_t port = port_of(listener->get());
  auto health = net::HealthServer::start(std::move(*listener));
  REQUIRE(health);
  CHECK(get_status(port, "/healthz") == 200);
  CHECK(get_status(port, "/readyz") == 503);
  (*health)->set_ready(true);
  CHECK(get_status(port, "/readyz") == 200);
  CHECK(get_status(port, "/metrics") == 404);
  CHECK_FALSE(net::listen_tcp("127.0.0.1"));
  CHECK_FALSE(net::listen_tcp("localhost:80"));
  CHECK_FALSE(net::listen_tcp("127.0.0.1:65536"));
}
