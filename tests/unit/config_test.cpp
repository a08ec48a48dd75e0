// Matchlockfile v1 parser: table-driven good/bad cases from strings, with the
// exact line:col of every error (docs/matchlockfile.md is the spec).
#include <catch2/catch.hpp>

#include <map>
#include <utility>
#include <vector>

#include "engine/config_parse.hpp"
#include "engine/env_overrides.hpp"
#include "engine/task_graph.hpp"

namespace {

const char* const k_minimal = "version = 1\n[sandbox]\nimage = \"alpine:3.20\"\n";

engine::ParseResult parse(const std::string& text) {
  return engine::parse_config(text, "Matchlockfile", "/home/u/proj");
}

// All diagnostics as "LINE:COL: message" lines.
std::string errors(const std::string& text) {
  std::string out = parse(text).diagnostics.format("");
  std::string stripped;
  for (size_t pos = 0; pos < out.size();) {
    size_t nl = out.find('\n', pos);
    stripped += out.substr(pos + 1, nl - pos);  // drop the leading ":" of the empty path
    pos = nl + 1;
  }
  return stripped;
}

}  // namespace

TEST_CASE("minimal file gets every default") {
  auto r = parse(k_minimal);
  REQUIRE(r.diagnostics.empty());
  const auto& c = *r.config;
  CHECK(c.name == "proj");
  CHECK(c.sandbox.image.to_string() == "docker.io/library/alpine:3.20");
  CHECK(c.sandbox.cpus == 2);
  CHECK(c.sandbox.memory_bytes == 2 * engine::k_gib);
  CHECK(c.sandbox.disk_bytes == 8 * engine::k_gib);
  CHECK(c.sandbox.backend == engine::Backend::Auto);
  CHECK(c.sandbox.kernel.kind == engine::KernelKind::Default);
  CHECK(c.sandbox.hostname == "proj");
  REQUIRE(c.mounts.size() == 1);  // the directory at /workspace
  CHECK(c.mounts[0].source == "/home/u/proj");
  CHECK(c.mounts[0].target == "/workspace");
  CHECK(c.sandbox.workdir == "/workspace");
  CHECK(c.network.allow.empty());  // deny-all
  CHECK(c.network.block_private);
  CHECK(c.pos("sandbox.image") == engine::SourcePos{3, 9});
  CHECK(c.where("sandbox.image") == "Matchlockfile:3:9");
}

TEST_CASE("a full file resolves paths, sizes, rules, secrets and tasks") {
  auto r = parse(R"(version = 1
name = "demo"
up = ["setup"]
default = "test"
[sandbox]
image = "oci-layout:./img:v1"
memory = "512MiB"
disk = 1073741824
backend = "qemu"
kernel = "./vmlinuz"
user = "1000:1000"
env = { LANG = "C.UTF-8" }
[[mounts]]
source = "../data"
target = "/data/"
mode = "ro"
exclude = ["**/*.tmp"]
[network]
allow = ["example.com", "*.github.com:443", "10.0.0.0/8:5432"]
[secrets.TOKEN]
from = "file:secrets/token"
hosts = ["api.example.com"]
inject = ["header"]
[tasks.setup]
run = "make deps"
cache = true
inputs = ["Makefile"]
[tasks.test]
run = ["make", "test"]
needs = ["setup"]
[[ports]]
host = 8080
guest = 80
)");
  REQUIRE(r.diagnostics.format("F") == "");
  const auto& c = *r.config;
  CHECK(c.sandbox.image.kind == oci::ReferenceKind::OciLayout);
  CHECK(c.sandbox.image.path == "/home/u/proj/img");
  CHECK(c.sandbox.image.tag == "v1");
  CHECK(c.sandbox.memory_bytes == 512 * engine::k_mib);
  CHECK(c.sandbox.disk_bytes == engine::k_gib);
  CHECK(c.sandbox.kernel.path == "/home/u/proj/vmlinuz");
  CHECK(c.sandbox.env.at("LANG") == "C.UTF-8");
  CHECK(c.mounts[0].source == "/home/u/data");
  CHECK(c.mounts[0].target == "/data");
  CHECK(c.mounts[0].mode == engine::MountMode::Ro);
  REQUIRE(c.network.allow.size() == 3);
  CHECK(c.network.allow[1].kind == net::RuleKind::Subdomains);
  CHECK(c.network.allow[2].port == 5432);
  const auto* s = c.find_secret("TOKEN");
  REQUIRE(s);
  CHECK(s->source == engine::SecretSource::File);
  CHECK(s->source_value == "/home/u/proj/secrets/token");
  CHECK(s->inject == engine::InjectSet{true, false, false});
  CHECK(c.allowed_rules().size() == 4);  // secret hosts are implicitly allowed
  CHECK(c.find_task("setup")->run == std::vector<std::string>{"sh", "-c", "make deps"});
  CHECK(c.find_task("test")->run == std::vector<std::string>{"make", "test"});
  CHECK(engine::task_order(c, "test").value() == std::vector<std::string>{"setup", "test"});
  CHECK(c.ports.at(0).host == 8080);
}

struct BadCase {
  const char* spec;  // the rule from docs/matchlockfile.md
  const char* text;
  const char* expected;  // every "LINE:COL: message", sorted
};

TEST_CASE("invalid files report every error with its position") {
  const BadCase cases[] = {
      {"TOML syntax errors are positioned", "version = 1\n[sandbox\n",
       "2:9: invalid TOML: Error while parsing table header: expected ']', saw '\\n'\n"},
      {"version is required", "[sandbox]\nimage = \"a\"\n",
       "1:1: missing required key \"version\" (add: version = 1)\n"},
      {"only version 1 exists", "version = 2\n[sandbox]\nimage = \"a\"\n",
       "1:11: unsupported version 2 (this matchlock reads version = 1)\n"},
      {"unknown keys are errors, with a suggestion", "version = 1\n[sandbox]\nimage = \"a\"\ncpu = 2\nfoo = 1\n",
       "4:1: unknown key \"cpu\" in [sandbox] (did you mean \"cpus\"?)\n5:1: unknown key \"foo\" in [sandbox]\n"},
      {"wrong types", "version = 1\n[sandbox]\nimage = 3\ncpus = \"2\"\n",
       "3:9: sandbox.image must be a string, not an integer\n4:8: sandbox.cpus must be an integer, not a string\n"},
      {"cpus >= 1 and memory >= 128MiB", "version = 1\n[sandbox]\nimage = \"a\"\ncpus = 0\nmemory = \"64MiB\"\n",
       "4:8: sandbox.cpus must be at least 1\n5:10: sandbox.memory must be at least 128MiB\n"},
      {"sizes reject garbage", "version = 1\n[sandbox]\nimage = \"a\"\nmemory = \"2GB\"\n",
       "4:10: sandbox.memory: invalid size \"2GB\": unknown unit \"GB\" (use B, KiB, MiB, GiB or TiB)\n"},
      {"image references are checked", "version = 1\n[sandbox]\nimage = \"Alpine:3\"\n",
       "3:9: sandbox.image: invalid image reference \"Alpine:3\": repository name must be lowercase\n"},
      {"mount targets are absolute and unique",
       "version = 1\n[sandbox]\nimage = \"a\"\n[[mounts]]\nsource = \".\"\ntarget = \"work\"\n"
       "[[mounts]]\nsource = \"a\"\ntarget = \"/w\"\n[[mounts]]\nsource = \"b\"\ntarget = \"/w/\"\n",
       "6:10: mounts[0].target \"work\" must be an absolute path in the guest\n"
       "12:10: mounts[2].target \"/w\" is already used by the mount at line 7\n"},
      {"globs and CIDRs are checked",
       "version = 1\n[sandbox]\nimage = \"a\"\n[[mounts]]\nsource = \".\"\ntarget = \"/w\"\nexclude = [\"a[\", \"x/../y\"]\n"
       "[network]\nallow = [\"10.0.0.1/8\"]\n",
       "7:12: mounts[0].exclude: invalid glob \"a[\": unclosed or empty '[' class\n"
       "7:18: mounts[0].exclude: invalid glob \"x/../y\": empty, '.' or '..' path components never match\n"
       "9:10: network.allow: invalid network rule \"10.0.0.1/8\": host bits set below the prefix length\n"},
      {"secret names are env names and need hosts",
       "version = 1\n[sandbox]\nimage = \"a\"\n[secrets.bad-name]\nfrom = \"env:X\"\nhosts = [\"h.com\"]\n"
       "[secrets.T]\nfrom = \"env:T\"\nhosts = []\n",
       "4:10: secret name \"bad-name\" is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)\n"
       "9:9: secrets.T.hosts must name at least one host the secret may be sent to\n"},
      {"a secret without hosts", "version = 1\n[sandbox]\nimage = \"a\"\n[secrets.T]\nfrom = \"cmd:pass t\"\n",
       "4:1: secrets.T needs hosts = [\"api.example.com\"]: the hosts the secret may be sent to\n"},
      {"needs must exist", "version = 1\n[sandbox]\nimage = \"a\"\n[tasks.a]\nrun = \"x\"\nneeds = [\"nope\"]\n",
       "6:10: tasks.a.needs: task \"nope\" does not exist\n"},
      {"cycles are printed",
       "version = 1\n[sandbox]\nimage = \"a\"\n[tasks.a]\nrun = \"x\"\nneeds = [\"b\"]\n[tasks.b]\nrun = \"y\"\nneeds = [\"a\"]\n",
       "6:9: task dependency cycle: a -> b -> a\n"},
      {"up and default name tasks", "version = 1\nup = [\"x\"]\ndefault = \"y\"\n[sandbox]\nimage = \"a\"\n",
       "2:7: up: task \"x\" does not exist\n3:11: default: task \"y\" does not exist\n"},
      {"missing sandbox", "version = 1\n", "1:1: missing required table [sandbox] (with image = \"...\")\n"},
  };
  for (const auto& c : cases) {
    INFO(c.spec);
    CHECK(errors(c.text) == c.expected);
  }
}

TEST_CASE("diagnostics are sorted and prefixed with the display path") {
  auto r = engine::parse_config("version = 1\n[sandbox]\nimage = \"a\"\nzzz = 1\n[tasks.t]\nqqq = 2\n",
                                "dir/Matchlockfile", "/d");
  CHECK(r.diagnostics.format("dir/Matchlockfile") ==
        "dir/Matchlockfile:4:1: unknown key \"zzz\" in [sandbox]\n"
        "dir/Matchlockfile:5:1: tasks.t needs run = \"COMMAND\" or run = [\"ARGV0\", ...]\n"
        "dir/Matchlockfile:6:1: unknown key \"qqq\" in [tasks.t]\n");
  CHECK_FALSE(r.config.has_value());
}

TEST_CASE("task_order runs each dependency once, dependencies first") {
  auto r = parse(
      std::string(k_minimal) +
      "[tasks.a]\nrun = \"a\"\n[tasks.b]\nrun = \"b\"\nneeds = [\"a\"]\n[tasks.c]\nrun = \"c\"\nneeds = [\"b\", \"a\"]\n");
  REQUIRE(r.config);
  CHECK(engine::task_order(*r.config, "c").value() == std::vector<std::string>{"a", "b", "c"});
  auto missing = engine::task_order(*r.config, "zz");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == util::ErrorCode::NotFound);
}

TEST_CASE("MATCHLOCK_* overrides: parsed once, a malformed value names its variable") {
  static std::map<std::string, std::string> env;
  auto getenv = [](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  env = {};
  auto none = engine::parse_env_overrides(getenv);
  REQUIRE(none);
  CHECK_FALSE(none->disk_bytes);
  CHECK(none->workspace_transport.empty());
  env = {{"MATCHLOCK_DISK_MIB", "2048"},
         {"MATCHLOCK_NET_MTU", "1500"},
         {"MATCHLOCK_WORKSPACE_TRANSPORT", "channel"},
         {"MATCHLOCK_SYSTEM_POLICY", "/tmp/p.toml"}};
  auto set = engine::parse_env_overrides(getenv);
  REQUIRE(set);
  CHECK(set->disk_bytes == 2048ull << 20);
  CHECK(set->net_mtu == 1500u);
  CHECK(set->workspace_transport == "channel");
  CHECK(set->system_policy == "/tmp/p.toml");
  // Before: strtoull turned "8G" into 8 MiB and "abc" into a 0-byte disk; a bad MTU was ignored.
  for (auto [name, value] : std::vector<std::pair<std::string, std::string>>{{"MATCHLOCK_DISK_MIB", "abc"},
                                                                             {"MATCHLOCK_DISK_MIB", "8G"},
                                                                             {"MATCHLOCK_DISK_MIB", "0"},
                                                                             {"MATCHLOCK_DISK_MIB", "-1"},
                                                                             {"MATCHLOCK_NET_MTU", "100"},
                                                                             {"MATCHLOCK_NET_MTU", "70000"},
                                                                             {"MATCHLOCK_WORKSPACE_TRANSPORT", "9p"}}) {
    env = {{name, value}};
    auto bad = engine::parse_env_overrides(getenv);
    INFO(name << "=" << value);
    REQUIRE_FALSE(bad);
    CHECK_THAT(bad.error().message(), Catch::Contains(name + "=" + value));
  }
}
