// The guest side of the network without a VM: BootConfig.net on the wire (optional,
// validated) and the agent's CA installation into an image's trust bundles.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "guest/agent/net_config.hpp"
#include "guest/protocol/messages.hpp"
#include "util/temp_dir.hpp"

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

constexpr const char* k_ca = "-----BEGIN CERTIFICATE-----\nSANDBOXCA\n-----END CERTIFICATE-----\n";

}  // namespace

TEST_CASE("BootConfig.net: absent means no NIC, present round-trips") {
  protocol::BootConfig plain;
  auto j = protocol::boot_to_json(plain);
  CHECK_FALSE(j.contains("net"));  // an older agent sees exactly what it knew
  auto back = protocol::boot_from_json(j);
  REQUIRE(back);
  CHECK_FALSE(back->net.enabled);

  protocol::BootConfig c;
  c.net = {true, "192.168.127.2", 24, "192.168.127.1", 65520, k_ca};
  auto round = protocol::boot_from_json(protocol::boot_to_json(c));
  REQUIRE(round);
  CHECK(round->net.enabled);
  CHECK(round->net.address == "192.168.127.2");
  CHECK(round->net.prefix == 24);
  CHECK(round->net.gateway == "192.168.127.1");
  CHECK(round->net.mtu == 65520);
  CHECK(round->net.ca_pem == k_ca);
}

TEST_CASE("BootConfig.net: out-of-range values are protocol errors") {
  protocol::BootConfig c;
  c.net = {true, "192.168.127.2", 24, "192.168.127.1", 1500, ""};
  auto j = protocol::boot_to_json(c);
  j["net"]["mtu"] = 100;
  CHECK_FALSE(protocol::boot_from_json(j));
  j["net"]["mtu"] = 1500;
  j["net"]["prefix"] = 33;
  CHECK_FALSE(protocol::boot_from_json(j));
  j["net"] = "eth0";
  CHECK_FALSE(protocol::boot_from_json(j));
}

TEST_CASE("install_ca appends to the bundles that exist and writes ca.pem and ca-bundle.pem") {
  auto tmp = util::TempDir::create(std::filesystem::temp_directory_path(), "ml-agent-net-");
  REQUIRE(tmp);
  auto root = tmp->path();
  auto debian = root / "etc/ssl/certs/ca-certificates.crt";
  auto alpine = root / "etc/ssl/cert.pem";
  auto rhel = root / "etc/pki/tls/certs/ca-bundle.crt";
  spit(debian, "PUBLIC-ROOTS\n");
  spit(alpine, "ALPINE-ROOTS");  // no trailing newline: the CA must start on its own line
  std::vector<std::string> bundles = {debian.string(), alpine.string(), rhel.string()};
  auto ca = root / "etc/matchlock/ca.pem";
  auto combined = root / "etc/matchlock/ca-bundle.pem";
  REQUIRE(agent::install_ca(k_ca, bundles, ca.string(), combined.string()));
  CHECK(slurp(debian) == std::string("PUBLIC-ROOTS\n") + k_ca);
  CHECK(slurp(alpine) == std::string("ALPINE-ROOTS\n") + k_ca);
  CHECK_FALSE(std::filesystem::exists(rhel));  // never created
  CHECK(slurp(ca) == k_ca);
  CHECK(slurp(combined) == std::string("PUBLIC-ROOTS\n") + k_ca);  // public CAs keep working
}

TEST_CASE("install_ca on an image without trust bundles: the bundle is the CA alone") {
  auto tmp = util::TempDir::create(std::filesystem::temp_directory_path(), "ml-agent-net-");
  REQUIRE(tmp);
  auto ca = tmp->path() / "etc/matchlock/ca.pem";
  auto combined = tmp->path() / "etc/matchlock/ca-bundle.pem";
  std::string no_newline = "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----";
  REQUIRE(agent::install_ca(no_newline, {(tmp->path() / "missing.crt").string()}, ca.string(), combined.string()));
  CHECK(slurp(ca) == no_newline + "\n");
  CHECK(slurp(combined) == no_newline + "\n");
}

TEST_CASE("replace_ca after a resume: the snapshot's CA leaves every bundle, this sandbox's takes its place") {
  auto tmp = util::TempDir::create(std::filesystem::temp_directory_path(), "ml-agent-net-");
  REQUIRE(tmp);
  auto root = tmp->path();
  auto debian = root / "etc/ssl/certs/ca-certificates.crt";
  auto alpine = root / "etc/ssl/cert.pem";
  spit(debian, "PUBLIC-ROOTS\n");
  spit(alpine, "ALPINE-ROOTS\n");
  std::vector<std::string> bundles = {debian.string(), alpine.string()};
  auto ca = root / "etc/matchlock/ca.pem";
  auto combined = root / "etc/matchlock/ca-bundle.pem";
  const std::string old_ca = "-----BEGIN CERTIFICATE-----\nOLD\n-----END CERTIFICATE-----\n";
  const std::string new_ca = "-----BEGIN CERTIFICATE-----\nNEW\n-----END CERTIFICATE-----\n";
  REQUIRE(agent::install_ca(old_ca, bundles, ca.string(), combined.string()));
  REQUIRE(agent::replace_ca(old_ca, new_ca, bundles, ca.string(), combined.string()));
  CHECK(slurp(debian) == "PUBLIC-ROOTS\n" + new_ca);
  CHECK(slurp(alpine) == "ALPINE-ROOTS\n" + new_ca);
  CHECK(slurp(ca) == new_ca);
  CHECK(slurp(combined) == "PUBLIC-ROOTS\n" + new_ca);
  // A bundle the guest rewrote without the old CA (update-ca-certificates) gets the new one appended.
  spit(alpine, "REGENERATED\n");
  const std::string third = "-----BEGIN CERTIFICATE-----\nTHIRD\n-----END CERTIFICATE-----\n";
  REQUIRE(agent::replace_ca(new_ca, third, bundles, ca.string(), combined.string()));
  CHECK(slurp(alpine) == "REGENERATED\n" + third);
  CHECK(slurp(debian).find("NEW") == std::string::npos);
}
