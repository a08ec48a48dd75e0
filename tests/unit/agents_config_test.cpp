// Issue 15: named volumes and secret files in the Matchlockfile, the machine's policy.toml
// (parse + check), and the rendering of secret files. From strings; the policy's mount
// check uses a temporary directory (it resolves symlinks).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "engine/config_parse.hpp"
#include "engine/machine_policy.hpp"
#include "engine/secret_files.hpp"
#include "util/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

const std::string k_head = "version = 1\n[sandbox]\nimage = \"a\"\n";

engine::ParseResult parse(const std::string& text, const fs::path& base = "/home/u/proj") {
  return engine::parse_config(text, "Matchlockfile", base);
}

// Every diagnostic as "LINE:COL: message\n".
std::string format(const engine::Diagnostics& d) {
  std::string out = d.format("");
  std::string stripped;
  for (size_t pos = 0; pos < out.size();) {
    size_t nl = out.find('\n', pos);
    stripped += out.substr(pos + 1, nl - pos);
    pos = nl + 1;
  }
  return stripped;
}
std::string errors(const std::string& text) { return format(parse(text).diagnostics); }

engine::MachinePolicy policy(const std::string& text, const fs::path& home = "/home/u") {
  auto r = engine::parse_machine_policy(text, "/etc/matchlock/policy.toml", home);
  INFO(format(r.diagnostics));
  REQUIRE(r.policy);
  return *r.policy;
}

// Violations of CONFIG_TEXT under POLICY_TEXT, "LINE:COL: message\n" each.
std::string violations(const std::string& config_text, const std::string& policy_text, engine::Config* out = nullptr,
                       const fs::path& base = "/home/u/proj") {
  auto r = parse(config_text, base);
  INFO(format(r.diagnostics));
  REQUIRE(r.config);
  engine::Diagnostics d;
  engine::apply_machine_policies(*r.config, {policy(policy_text)}, d);
  if (out) *out = *r.config;
  return format(d);
}

}  // namespace

TEST_CASE("volumes: [[mounts]] volume = NAME, rw or ro, no host source") {
  auto r = parse(k_head +
                 "[[mounts]]\nsource = \".\"\ntarget = \"/workspace\"\n"
                 "[[mounts]]\nvolume = \"npm-cache\"\ntarget = \"/root/.npm\"\n"
                 "[[mounts]]\nvolume = \"claude\"\ntarget = \"/root/.claude\"\nmode = \"ro\"\n");
  INFO(format(r.diagnostics));
  REQUIRE(r.config);
  REQUIRE(r.config->mounts.size() == 3);
  CHECK(r.config->mounts[1].volume == "npm-cache");
  CHECK(r.config->mounts[1].source.empty());
  CHECK(engine::mount_source_label(r.config->mounts[1]) == "volume npm-cache");
  CHECK(r.config->mounts[2].mode == engine::MountMode::Ro);
}

TEST_CASE("volumes: invalid entries are reported with their position") {
  CHECK(errors(k_head + "[[mounts]]\nsource = \".\"\nvolume = \"v\"\ntarget = \"/v\"\n") ==
        "6:10: mounts[0] has both source and volume: a mount serves either a host directory (source) or a named "
        "volume (volume)\n");
  CHECK(errors(k_head + "[[mounts]]\nvolume = \"Bad/Name\"\ntarget = \"/v\"\n") ==
        "5:10: mounts[0].volume \"Bad/Name\" must match [a-z0-9][a-z0-9._-]* (at most 63 characters)\n");
  CHECK(errors(k_head + "[[mounts]]\nvolume = \"v\"\ntarget = \"/v\"\nmode = \"snapshot\"\n") ==
        "7:8: mounts[0].mode \"snapshot\" needs a host source; a volume is rw or ro\n");
  CHECK(
      errors(k_head + "[[mounts]]\nvolume = \"v\"\ntarget = \"/v\"\nexclude = [\"x\"]\n") ==
      "7:11: mounts[0].exclude applies to host directories (source); a volume holds only what sandboxes wrote to it\n");
  CHECK(errors(k_head + "[[mounts]]\nvolume = \"v\"\ntarget = \"/a\"\n[[mounts]]\nvolume = \"v\"\ntarget = \"/b\"\n") ==
        "8:10: mounts[1].volume \"v\" is already mounted by the mount at line 4\n");
  CHECK(errors(k_head + "[[mounts]]\ntarget = \"/v\"\n") ==
        "4:1: mounts[0] needs source = \"HOST PATH\" (or volume = \"NAME\")\n");
}

TEST_CASE("secret files: file, template and json parse") {
  auto r = parse(
      k_head +
      "[secrets.NPM_TOKEN]\nfrom = \"env:NPM_TOKEN\"\nhosts = [\"registry.npmjs.org\"]\n"
      "file = \"~/.npmrc\"\ntemplate = \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\\n$$HOME\\n\"\n"
      "[secrets.CLAUDE]\nfrom = \"file:~/.claude/.credentials.json\"\nhosts = [\"api.anthropic.com\"]\n"
      "file = \"/root/.claude/.credentials.json\"\njson = [\"claudeAiOauth.accessToken\", \"claudeAiOauth.refreshToken\"]\n");
  INFO(format(r.diagnostics));
  REQUIRE(r.config);
  const auto* npm = r.config->find_secret("NPM_TOKEN");
  REQUIRE(npm);
  CHECK(npm->file == "~/.npmrc");
  REQUIRE(npm->file_template);
  const auto* claude = r.config->find_secret("CLAUDE");
  REQUIRE(claude);
  CHECK(claude->json == std::vector<std::string>{"claudeAiOauth.accessToken", "claudeAiOauth.refreshToken"});
}

TEST_CASE("secret files: every mistake is reported where it is") {
  const std::string s = "[secrets.T]\nfrom = \"env:T\"\nhosts = [\"h.com\"]\n";
  CHECK(
      errors(k_head + s + "file = \"relative/x\"\n") ==
      "7:8: secrets.T.file \"relative/x\" must be a file path in the guest: absolute (/root/.npmrc) or in the home of "
      "the sandbox's user (~/.npmrc), without \"..\"\n");
  CHECK(errors(k_head + s + "file = \"~/../etc/x\"\n").find("without \"..\"") != std::string::npos);
  CHECK(errors(k_head + s + "template = \"x\"\n") ==
        "7:12: secrets.T.template needs file = \"GUEST PATH\": where the file is delivered\n");
  CHECK(errors(k_head + s + "file = \"/f\"\ntemplate = \"${T\"\n") ==
        "8:12: secrets.T.template has a \"${\" without its closing \"}\" (write $$ for a literal $)\n");
  CHECK(errors(k_head + s + "file = \"/f\"\ntemplate = \"${NOPE}\"\n") ==
        "8:12: secrets.T.template names ${NOPE}, which is no secret of this file\n");
  CHECK(errors(k_head + s + "file = \"/f\"\njson = [\"a..b\", \"a\", \"a\"]\n") ==
        "8:9: secrets.T.json \"a..b\" must be a dotted field path such as \"claudeAiOauth.accessToken\"\n"
        "8:22: secrets.T.json lists \"a\" twice\n");
  CHECK(errors(k_head + s + "file = \"/f\"\njson = [\"a\"]\ntemplate = \"x\"\n") ==
        "9:12: secrets.T: template and json exclude each other (json delivers the document itself)\n");
  // The default mount is the project at /workspace: a file there would land on the host.
  CHECK(errors(k_head + s + "file = \"/workspace/.npmrc\"\n") ==
        "7:8: secrets.T.file \"/workspace/.npmrc\" lies inside the mount at /workspace (a host directory): the file "
        "would be written there; put it outside host mounts (a volume is fine)\n");
  CHECK(errors(k_head + "[[mounts]]\nvolume = \"c\"\ntarget = \"/root/.claude\"\n" + s +
               "file = \"/root/.claude/.credentials.json\"\n")
            .empty());
  CHECK(errors(k_head + s + "file = \"/f\"\n[secrets.U]\nfrom = \"env:U\"\nhosts = [\"h.com\"]\nfile = \"/f\"\n") ==
        "11:8: secrets.U.file \"/f\" is also the file of secrets.T\n");
}

TEST_CASE("secret files: a JSON document becomes placeholders, field by field") {
  auto r = parse(k_head +
                 "[secrets.C]\nfrom = \"env:C\"\nhosts = [\"api.example.com\"]\nfile = \"/c.json\"\n"
                 "json = [\"oauth.access\", \"oauth.refresh\"]\n");
  REQUIRE(r.config);
  const engine::Secret& s = r.config->secrets[0];
  const std::string access = "sk-ant-oat01-AAAAaaaaBBBBbbbbCCCCcccc", refresh = "sk-ant-ort01-DDDDddddEEEEeeeeFFFFffff";
  const std::string doc = R"({"oauth": {"access": ")" + access + R"(", "refresh": ")" + refresh +
                          R"(", "expiresAt": 1700000000000, "scopes": ["user:inference"]}, "copy": ")" + access +
                          R"("})";
  auto fields = engine::json_secret_fields(s, doc);
  REQUIRE(fields);
  REQUIRE(fields->size() == 2);
  CHECK((*fields)[0].first == "oauth.access");
  net::SecretTable table;
  table.add({"C.oauth.access", "MATCHLOCK_SECRET_00000000000000000000000000000001", access, {}, {}});
  table.add({"C.oauth.refresh", "MATCHLOCK_SECRET_00000000000000000000000000000002", refresh, {}, {}});
  auto file = engine::render_secret_file(s, doc, table);
  REQUIRE(file);
  CHECK(file->path == "/c.json");
  CHECK(file->content.find(access) == std::string::npos);
  CHECK(file->content.find(refresh) == std::string::npos);
  CHECK(file->content.find("\"access\": \"MATCHLOCK_SECRET_00000000000000000000000000000001\"") != std::string::npos);
  CHECK(file->content.find("\"copy\": \"MATCHLOCK_SECRET_00000000000000000000000000000001\"") != std::string::npos);
  CHECK(file->content.find("\"expiresAt\": 1700000000000") != std::string::npos);
  CHECK(file->content.find("user:inference") != std::string::npos);

  // A value hidden inside a longer string is never delivered: the sandbox does not start.
  const std::string embedded = R"({"oauth": {"access": ")" + access + R"(", "refresh": ")" + refresh +
                               R"("}, "note": "Bearer )" + access + R"("})";
  auto leak = engine::render_secret_file(s, embedded, table);
  REQUIRE_FALSE(leak);
  CHECK(leak.error().message().find("C.oauth.access") != std::string::npos);
  CHECK(leak.error().message().find(access) == std::string::npos);

  // Missing or non-string fields, and non-JSON values, are errors that quote nothing.
  auto missing = engine::json_secret_fields(s, R"({"oauth": {"access": "x1234567"}})");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message().find("field oauth.refresh is not in the JSON document") != std::string::npos);
  auto number = engine::json_secret_fields(s, R"({"oauth": {"access": 5, "refresh": "y"}})");
  REQUIRE_FALSE(number);
  CHECK(number.error().message().find("oauth.access is not a string") != std::string::npos);
  auto garbage = engine::json_secret_fields(s, "not json " + access);
  REQUIRE_FALSE(garbage);
  CHECK(garbage.error().message().find(access) == std::string::npos);
}

TEST_CASE("secret files: a template names placeholders, $$ is a dollar") {
  auto r = parse(
      k_head +
      "[secrets.A]\nfrom = \"env:A\"\nhosts = [\"a.com\"]\nfile = \"/aws\"\n"
      "template = \"[default]\\nkey=${A}\\nsecret=${B}\\ncost=$$5\\n\"\n"
      "[secrets.B]\nfrom = \"env:B\"\nhosts = [\"a.com\"]\n[secrets.C]\nfrom = \"env:C\"\nhosts = [\"c.com\"]\nfile = \"/c\"\n");
  INFO(format(r.diagnostics));
  REQUIRE(r.config);
  net::SecretTable table;
  table.add({"A", "MATCHLOCK_SECRET_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "value-of-a", {}, {}});
  table.add({"B", "MATCHLOCK_SECRET_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "value-of-b", {}, {}});
  table.add({"C", "MATCHLOCK_SECRET_cccccccccccccccccccccccccccccccc", "value-of-c", {}, {}});
  auto aws = engine::render_secret_file(*r.config->find_secret("A"), "value-of-a", table);
  REQUIRE(aws);
  CHECK(aws->content ==
        "[default]\nkey=MATCHLOCK_SECRET_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
        "secret=MATCHLOCK_SECRET_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\ncost=$5\n");
  auto plain = engine::render_secret_file(*r.config->find_secret("C"), "value-of-c", table);
  REQUIRE(plain);
  CHECK(plain->content == "MATCHLOCK_SECRET_cccccccccccccccccccccccccccccccc");
}

TEST_CASE("policy.toml: strict, every error with its line") {
  auto r = engine::parse_machine_policy(
      "version = 1\n[network]\ndeny = [\"*.com\", \"ok.example.com\"]\nalow = []\n"
      "[secrets]\nsources = [\"env\", \"vault\"]\n[sandbox]\nmax_cpus = 0\nmax_memory = \"2GB\"\n"
      "[mounts]\noutside_project = [\"rel/dir\"]\n[extra]\n",
      "/etc/matchlock/policy.toml", "/home/u");
  CHECK_FALSE(r.policy);
  CHECK(
      format(r.diagnostics) ==
      "3:9: network.deny: invalid network rule \"*.com\": \"*.\" needs a domain with at least two labels (\"*.example.com\")\n"
      "4:1: unknown key \"alow\" in [network] (did you mean \"allow\"?)\n"
      "6:19: secrets.sources \"vault\" must be one of env, file, cmd, k8s\n"
      "8:12: sandbox.max_cpus must be at least 1\n"
      "9:14: sandbox.max_memory: invalid size \"2GB\": unknown unit \"GB\" (use B, KiB, MiB, GiB or TiB)\n"
      "11:20: mounts.outside_project \"rel/dir\" must be an absolute path or start with ~/\n"
      "12:2: unknown key \"extra\" in the top level of policy.toml\n");
}

TEST_CASE("policy.toml: a Matchlockfile asking for more is refused, at its own positions") {
  const std::string file = k_head +
                           "cpus = 8\n"                                                        // 4
                           "[network]\n"                                                       // 5
                           "allow = [\"paste.evil.com\", \"*.github.com\"]\n"                  // 6
                           "block_private = false\n"                                           // 7
                           "[secrets.T]\nfrom = \"cmd:pass t\"\nhosts = [\"api.evil.com\"]\n"  // 8-10
                           "[[mounts]]\nvolume = \"v\"\ntarget = \"/v\"\n";                    // 11-13
  const std::string pol =
      "[network]\n"                                     // 1
      "deny = [\"*.evil.com\", \"gist.github.com\"]\n"  // 2
      "allow_block_private_off = false\n"               // 3
      "[secrets]\nsources = [\"env\", \"file\"]\n"      // 4-5
      "[mounts]\nvolumes = false\n"                     // 6-7
      "[sandbox]\nmax_cpus = 4\n";                      // 8-9
  CHECK(
      violations(file, pol) ==
      "4:8: exceeds /etc/matchlock/policy.toml:9: sandbox.cpus 8 is more than max_cpus 4\n"
      "6:10: exceeds /etc/matchlock/policy.toml:2: network.allow \"paste.evil.com\" is never allowed (network.deny "
      "\"*.evil.com\")\n"
      "7:17: exceeds /etc/matchlock/policy.toml:3: network.block_private = false is not permitted "
      "(network.allow_block_private_off = false)\n"
      "9:8: exceeds /etc/matchlock/policy.toml:5: secrets.T.from uses a cmd: source; secrets.sources permits env, file\n"
      "10:10: exceeds /etc/matchlock/policy.toml:2: secrets.T.hosts \"api.evil.com\" is never allowed (network.deny "
      "\"*.evil.com\")\n"
      "12:10: exceeds /etc/matchlock/policy.toml:7: mounts[0].volume \"v\": named volumes are not permitted "
      "(mounts.volumes = false)\n");
  // The default cpus (2) is over a max of 1: reported at [sandbox], saying it is the default.
  CHECK(violations(k_head, "[sandbox]\nmax_cpus = 1\nmax_memory = \"1GiB\"\n") ==
        "2:1: exceeds /etc/matchlock/policy.toml:2: sandbox.cpus 2 (the default) is more than max_cpus 1\n"
        "2:1: exceeds /etc/matchlock/policy.toml:3: sandbox.memory 2GiB (the default) is more than max_memory 1GiB\n");
}

TEST_CASE("policy.toml: overlapping rules are cut, allow-everywhere rules added, effects recorded") {
  engine::Config c;
  CHECK(violations(k_head + "[network]\nallow = [\"*.github.com\"]\ndeny = [\"mirror.example.org\"]\n",
                   "[network]\ndeny = [\"gist.github.com\"]\nallow = [\"deb.debian.org\", \"mirror.example.org\"]\n",
                   &c)
            .empty());
  REQUIRE(c.policy.cut.size() == 1);
  CHECK(c.policy.cut[0] == "network.allow *.github.com: except gist.github.com (/etc/matchlock/policy.toml:2)");
  CHECK(c.policy.deny.size() == 1);
  REQUIRE(c.policy.allow.size() == 1);  // the file's own deny wins over the policy's allow
  CHECK(c.policy.allow[0].to_string() == "deb.debian.org");
  CHECK(c.policy.allowed == std::vector<std::string>{"network allow deb.debian.org (/etc/matchlock/policy.toml:3)"});
  auto rules = c.allowed_rules();
  CHECK(std::find(rules.begin(), rules.end(), c.policy.allow[0]) != rules.end());
}

TEST_CASE("policy.toml: mount sources outside the project, symlinks resolved") {
  auto tmp = util::TempDir::create(fs::temp_directory_path(), "ml-policy-");
  REQUIRE(tmp);
  fs::path proj = tmp->path() / "proj", data = tmp->path() / "data", secret = tmp->path() / "secret";
  fs::create_directories(proj / "src");
  fs::create_directories(data);
  fs::create_directories(secret);
  fs::create_directory_symlink(secret, proj / "link");  // a committed symlink out of the project
  const std::string file = k_head +
                           "[[mounts]]\nsource = \"src\"\ntarget = \"/a\"\n"
                           "[[mounts]]\nsource = \"" +
                           data.string() +
                           "\"\ntarget = \"/b\"\n"
                           "[[mounts]]\nsource = \"link\"\ntarget = \"/c\"\n";
  std::string pol = "[mounts]\noutside_project = [\"" + data.string() + "\"]\n";
  std::string out = violations(file, pol, nullptr, proj);
  CHECK(out == "11:10: exceeds /etc/matchlock/policy.toml:2: mounts[2].source " + (proj / "link").string() +
                   " (resolves to " + fs::canonical(secret).string() + ") lies outside the project " +
                   fs::canonical(proj).string() + " and outside every mounts.outside_project directory\n");
  CHECK(violations(file, "[mounts]\noutside_project = []\n", nullptr, proj).find("mounts[1].source") !=
        std::string::npos);
  // "~/" is the HOME given to the parser.
  auto p = policy("[mounts]\noutside_project = [\"~/datasets\"]\n", "/home/me");
  REQUIRE(p.outside);
  CHECK(p.outside->value == std::vector<fs::path>{"/home/me/datasets"});
}

TEST_CASE("policy.toml: secret files can be forbidden") {
  CHECK(violations(k_head + "[secrets.T]\nfrom = \"env:T\"\nhosts = [\"h.com\"]\nfile = \"/t\"\n",
                   "[secrets]\nfiles = false\n") ==
        "7:8: exceeds /etc/matchlock/policy.toml:2: secrets.T.file: secrets delivered as files are not permitted "
        "(secrets.files = false)\n");
}

TEST_CASE("secret refresh_url: an https URL on one of the secret's hosts, canonical") {
  const std::string s =
      "[secrets.T]\nfrom = \"env:T\"\nhosts = [\"console.example.com\", \"*.auth.example.com:8443\"]\n";
  auto ok = parse(k_head + s + "refresh_url = \"https://Console.example.com:443/v1/oauth/token\"\n");
  INFO(format(ok.diagnostics));
  REQUIRE(ok.config);
  CHECK(ok.config->secrets[0].refresh_url == "https://console.example.com/v1/oauth/token");
  auto port = parse(k_head + s + "refresh_url = \"https://a.auth.example.com:8443/token\"\n");
  REQUIRE(port.config);
  CHECK(port.config->secrets[0].refresh_url == "https://a.auth.example.com:8443/token");
  CHECK(errors(k_head + s + "refresh_url = \"http://console.example.com/t\"\n") ==
        "7:15: secrets.T.refresh_url \"http://console.example.com/t\" must be an https:// URL (the token endpoint)\n");
  CHECK(errors(k_head + s + "refresh_url = \"https://evil.example.net/t\"\n") ==
        "7:15: secrets.T.refresh_url \"https://evil.example.net/t\" is on a host that is not among secrets.T.hosts\n");
  CHECK(
      errors(k_head + s + "refresh_url = \"https://a.auth.example.com/t\"\n") ==
      "7:15: secrets.T.refresh_url \"https://a.auth.example.com/t\" is on a host that is not among secrets.T.hosts\n");
  CHECK(errors(k_head + s + "refresh_url = \"https://console.example.com/t?x=1\"\n") ==
        "7:15: secrets.T.refresh_url \"https://console.example.com/t?x=1\" must not have a query or fragment\n");
}
