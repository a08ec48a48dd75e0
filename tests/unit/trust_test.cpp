// Trust approval: grants, widening detection, the approval store, --trust and no-TTY
// refusal, and the prompt on a real pseudo-terminal.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "engine/config_parse.hpp"
#include "engine/machine_policy.hpp"
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

TEST_CASE("trust: grants name network, secrets and mounts, narrowing is not widening") {
  auto base = engine::trust_grants(parse(k_base));
  CHECK(std::find(base.begin(), base.end(), "network allow *.pypi.org") != base.end());
  CHECK(std::find(base.begin(), base.end(),
                  "secret GH from env:GH_TOKEN to api.github.com inject header,query,basic") != base.end());
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

TEST_CASE("trust: first use needs --trust without a TTY, the approval persists outside the repo") {
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
  auto loaded = engine::load_secrets(config);
  REQUIRE(loaded);
  REQUIRE(loaded->table->bindings().size() == 1);
  CHECK(loaded->table->bindings()[0].value == "ghp_supersecret");
  CHECK(loaded->table->bindings()[0].placeholder.starts_with("MATCHLOCK_SECRET_"));
  CHECK(loaded->env.at("GH") == loaded->table->bindings()[0].placeholder);
  CHECK(loaded->files.empty());
  ::unsetenv("GH_TOKEN");
}

namespace {

// A pseudo-terminal whose slave end is the "terminal" ensure_trusted reads;
// what the user types is written to the master beforehand.
struct Pty {
  int master = -1, slave = -1;
  Pty() {
    master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(master >= 0);
    REQUIRE(::grantpt(master) == 0);
    REQUIRE(::unlockpt(master) == 0);
    slave = ::open(::ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(slave >= 0);
  }
  ~Pty() {
    ::close(slave);
    ::close(master);
  }
  void type(const std::string& text) {
    REQUIRE(::write(master, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }
};

// Runs ensure_trusted on a terminal where the user types ANSWER; returns (ok, what was shown).
std::pair<bool, std::string> ask(const util::Dirs& dirs, const engine::Config& config, const std::string& answer) {
  Pty pty;
  pty.type(answer);
  std::FILE* out = std::tmpfile();
  REQUIRE(out);
  auto r = engine::ensure_trusted(dirs, config, engine::TrustFlag::Ask, pty.slave, out);
  std::rewind(out);
  std::string shown;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, out)) > 0) shown.append(buf, n);
  std::fclose(out);
  if (!r) CHECK(r.error().code() == util::ErrorCode::Denied);
  return {r.has_value(), shown};
}

}  // namespace

TEST_CASE("trust: on a terminal the policy is shown and only y/yes approves it") {
  auto tmp = util::TempDir::create(std::filesystem::temp_directory_path(), "ml-trust").value();
  util::Dirs dirs{tmp.path() / "cache", tmp.path() / "state", tmp.path() / "config"};
  auto config = parse(k_base);

  auto [no, shown] = ask(dirs, config, "n\n");
  CHECK_FALSE(no);
  CHECK(shown.find("the first use of /proj/Matchlockfile") != std::string::npos);
  CHECK(shown.find("  network allow *.pypi.org\n") != std::string::npos);
  CHECK(shown.find("  mount /proj -> /workspace ro\n") != std::string::npos);
  CHECK(shown.find("Trust this policy? [y/N] ") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(engine::approval_path(dirs, config.file)));
  CHECK_FALSE(ask(dirs, config, "\n").first);      // Enter: the default is No
  CHECK_FALSE(ask(dirs, config, "yess\n").first);  // only y, Y, yes

  CHECK(ask(dirs, config, "y\n").first);
  CHECK(std::filesystem::exists(engine::approval_path(dirs, config.file)));
  auto again = ask(dirs, config, "");  // approved: no question asked
  CHECK(again.first);
  CHECK(again.second.empty());

  std::string wider = k_base;
  wider.replace(wider.find("\"github.com\","), 13, "\"github.com\", \"example.org\",");
  auto widened = ask(dirs, parse(wider), "yes\n");
  CHECK(widened.first);
  CHECK(widened.second.find("widened what the sandbox may reach") != std::string::npos);
  CHECK(widened.second.find("New since the last approval:\n  + network allow example.org\n") != std::string::npos);
  CHECK(ask(dirs, parse(wider), "").first);  // the wider policy is now the approved one
}

TEST_CASE("trust: the prompt shows secret files, volumes and what the machine policy allowed and cut") {
  auto tmp = util::TempDir::create(std::filesystem::temp_directory_path(), "ml-trust").value();
  util::Dirs dirs{tmp.path() / "cache", tmp.path() / "state", tmp.path() / "config"};
  std::string body = k_base;
  body +=
      "[[mounts]]\nvolume = \"cache\"\ntarget = \"/root/.cache\"\n"
      "[secrets.NPM]\nfrom = \"env:NPM\"\nhosts = [\"registry.npmjs.org\"]\nfile = \"~/.npmrc\"\n"
      "template = \"//registry.npmjs.org/:_authToken=${NPM}\"\n";
  auto config = parse(body);
  auto policy = engine::parse_machine_policy("[network]\ndeny = [\"files.pypi.org\"]\nallow = [\"deb.debian.org\"]\n",
                                             "/etc/matchlock/policy.toml", "/home/u");
  REQUIRE(policy.policy);
  engine::Diagnostics diags;
  engine::apply_machine_policies(config, {*policy.policy}, diags);
  REQUIRE(diags.empty());
  auto [ok, shown] = ask(dirs, config, "n\n");
  CHECK_FALSE(ok);
  CHECK(shown.find("  mount volume cache -> /root/.cache rw\n") != std::string::npos);
  CHECK(shown.find("  secret NPM file ~/.npmrc (template)\n") != std::string::npos);
  CHECK(shown.find("The machine policy (/etc/matchlock/policy.toml) also:\n") != std::string::npos);
  CHECK(shown.find("  allows everywhere: network allow deb.debian.org (/etc/matchlock/policy.toml:3)\n") !=
        std::string::npos);
  CHECK(shown.find("  never allows: files.pypi.org\n") != std::string::npos);
  CHECK(shown.find("  cuts: network.allow *.pypi.org: except files.pypi.org (/etc/matchlock/policy.toml:2)\n") !=
        std::string::npos);
}
