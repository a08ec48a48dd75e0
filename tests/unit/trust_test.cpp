// Trust approval: grants, widening detection, the approval store, --trust and no-TTY refusal.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "engine/config_parse.hpp"
#include "engine/net_setup.hpp"
#include "engine/trust.hpp"
#include "util/temp_dir.hpp"

namespace {

engine::Config parse(const std::string& body) {
  std::string text = "version = 1\nname = \"t\"\n[sandbox]\nimage = \"debian:bookworm-slim\"\n" + body;
  auto r = engine::parse_config(text, "/proj/Matchlockfile", "/proj");
  INFO(r.diagnostics.format("/proj/Matchlockfile"));
  REQUIRE(r.config);
  r.config->file = "/proj/Matchlockfile";
  return *r.config;
}

const char* k_base = R"(
[network]
allow = ["github.com", "*.pypi.org"]
deny = ["gist.github.com"]
[secrets.GH]
from = "env:GH_TOKEN"
hosts = ["api.github.com"]
[[mounts]]
source = "."
target = "/workspace"
mode = "ro"
)";

}  // namespace

TEST_CASE("trust: grants name network, secrets and mounts; narrowing is not widening") {
  auto base = engine::trust_grants(parse(k_base));
  CHECK(std::find(base.begin(), base.end(), "network allow *.pypi.org") != base.end());
  CHECK(std::find(base.begin(), base.end(), "secret GH from env:GH_TOKEN to api.github.com inject header,query,basic") !=
        base.end());
  CHECK(std::find(base.begin(), base.end(), "mount /proj -> /workspace ro") != base.end());
  CHECK(engine::widenings(base, base).empty());

  std::string narrower = k_base;
  narrower.replace(narrower.find(", \"*.pypi.org\""), 14, "");
  CHECK(engine::widenings(base, engine::trust_grants(parse(narrower))).empty());

  std::string rw = k_base;
  rw.replace(rw.find("\"ro\""), 4, "\"rw\"");
  CHECK(engine::widenings(base, engine::trust_grants(parse(rw))) ==
        std::vector<std::string>{"mount /proj -> /workspace rw"});

  std::string no_deny = k_base;
  no_deny.replace(no_deny.find("deny = [\"gist.github.com\"]"), 26, "");
  CHECK(engine::widenings(base, engine::trust_grants(parse(no_deny))) ==
        std::vector<std::string>{"removed: network deny gist.github.com"});

  std::string more_hosts = k_base;
  more_hosts.replace(more_hosts.find("hosts = [\"api.github.com\"]"), 26, "hosts = [\"api.github.com\", \"evil.com\"]");
  CHECK(engine::widenings(base, engine::trust_grants(parse(more_hosts))).size() == 1);
}

TEST_CASE("trust: first use needs --trust without a TTY; the approval persists outside the repo") {
  auto tmp = util::TempDir::create(std::filesystem::temp_directory_path(), "ml-trust").value();
  util::Dirs dirs{tmp.path() / "cache", tmp.path() / "state", tmp.path() / "config"};
  auto config = parse(k_base);
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(devnull >= 0);
  auto refused = engine::ensure_trusted(dirs, config, engine::TrustFlag::Ask, devnull, stderr);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code() == util::ErrorCode::Denied);
  CHECK(refused.error().message().find("--trust") != std::string::npos);
  REQUIRE(engine::ensure_trusted(dirs, config, engine::TrustFlag::Granted, devnull, stderr));
  CHECK(engine::approval_path(dirs, config.file).string().starts_with((tmp.path() / "state" / "approvals").string()));
  CHECK(engine::ensure_trusted(dirs, config, engine::TrustFlag::Ask, devnull, stderr));  // approved before

  std::string wider = k_base;
  wider.replace(wider.find("\"github.com\","), 13, "\"github.com\", \"example.org\",");
  auto widened = engine::ensure_trusted(dirs, parse(wider), engine::TrustFlag::Ask, devnull, stderr);
  REQUIRE_FALSE(widened);
  CHECK(widened.error().message().find("widened") != std::string::npos);
  ::close(devnull);
}

TEST_CASE("network policy from a Matchlockfile: secret hosts implicitly allowed, values never in errors") {
  auto config = parse(k_base);
  auto policy = engine::network_policy(config);
  CHECK(policy.decide_name("api.github.com", 443).allowed());
  CHECK_FALSE(policy.decide_name("gist.github.com", 443).allowed());
  ::unsetenv("GH_TOKEN");
  auto missing = engine::load_secrets(config);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message().find("GH_TOKEN") != std::string::npos);
  ::setenv("GH_TOKEN", "ghp_supersecret\n", 1);
  auto table = engine::load_secrets(config);
  REQUIRE(table);
  REQUIRE((*table)->bindings().size() == 1);
  CHECK((*table)->bindings()[0].value == "ghp_supersecret");
  CHECK((*table)->bindings()[0].placeholder.starts_with("MATCHLOCK_SECRET_"));
  ::unsetenv("GH_TOKEN");
}
