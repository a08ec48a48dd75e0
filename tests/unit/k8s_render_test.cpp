// engine::render_kubernetes from strings (no binary, no files): the `k8s:SECRET/KEY` source
// (parsed by the gateway's side of issue 17; set here on the model as the parser will), the
// render-time mappings, and the shape of the gateway's Secret mounts.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "engine/config_parse.hpp"
#include "engine/k8s_render.hpp"
#include "net/secrets.hpp"

namespace {

using nlohmann::json;

engine::Config parse(const std::string& body) {
  std::string text =
      "version = 1\nname = \"a-very-long-project-name-that-goes-past-forty-chars-x\"\n[sandbox]\nimage = \"alpine:3.20\"\n" +
      body;
  auto r = engine::parse_config(text, "/proj/Matchlockfile", "/proj");
  INFO(r.diagnostics.format("/proj/Matchlockfile"));
  REQUIRE(r.config);
  r.config->file = "/proj/Matchlockfile";
  return *r.config;
}

std::optional<engine::Lockfile> lock_for(const engine::Config& c) {
  engine::Lockfile lock;
  lock.upsert({c.sandbox.image.to_string(), "linux/amd64", "", "sha256:" + std::string(64, 'a'), "", ""});
  return lock;
}

const json& find(const std::vector<json>& docs, const std::string& kind, int nth = 0) {
  for (const auto& d : docs)
    if (d["kind"] == kind && nth-- == 0) return d;
  FAIL("no " << kind);
  static json none;
  return none;
}

const char* k_secrets = R"(
[secrets.GH_TOKEN]
from = "env:GH_TOKEN"
hosts = ["api.github.com"]
[secrets.NPM_TOKEN]
from = "env:NPM_TOKEN"
hosts = ["registry.npmjs.org"]
)";

}  // namespace

TEST_CASE("render: a k8s: source needs no mapping, is mounted by the gateway only and passed as no flag") {
  engine::Config c = parse(k_secrets);
  for (auto& s : c.secrets)
    if (s.name == "GH_TOKEN") s.from_text = "k8s:github.tokens/gh";  // what the parser will produce
  engine::RenderOptions o;
  o.secret_refs["NPM_TOKEN"] = {"npm", "token"};
  auto r = engine::render_kubernetes(c, "text", lock_for(c), o);
  REQUIRE(r);
  const json& dep = find(r->documents, "Deployment");
  const json& pod = dep["spec"]["template"]["spec"];
  std::vector<std::string> cmd = pod["containers"][0]["command"];
  CHECK(std::count(cmd.begin(), cmd.end(), "--secret") == 1);
  CHECK(std::find(cmd.begin(), cmd.end(), "NPM_TOKEN=npm/token") != cmd.end());
  std::vector<std::string> secrets, paths;
  for (const auto& v : pod["volumes"])
    if (v.contains("secret")) secrets.push_back(v["secret"]["secretName"]);
  for (const auto& m : pod["containers"][0]["volumeMounts"]) paths.push_back(m["mountPath"]);
  CHECK(secrets == std::vector<std::string>{"matchlock-gateway-ca", "github.tokens", "npm"});
  CHECK(std::find(paths.begin(), paths.end(), "/var/run/matchlock/secrets/github.tokens") != paths.end());
  // Volume names are DNS labels: the '.' of a Secret name is not carried over.
  for (const auto& v : pod["volumes"]) CHECK(v["name"].get<std::string>().find('.') == std::string::npos);
  // The sandbox pod: placeholders only, the same as the gateway's.
  const json& tmpl = find(r->documents, "SandboxTemplate");
  json placeholders = json::parse(find(r->documents, "ConfigMap")["data"]["placeholders.json"].get<std::string>());
  for (const auto& e : tmpl["spec"]["podTemplate"]["spec"]["containers"][0]["env"])
    if (placeholders.contains(e["name"])) CHECK(e["value"] == placeholders[e["name"].get<std::string>()]);
  CHECK(placeholders.size() == 2);
  for (const auto& [name, p] : placeholders.items()) CHECK(p.get<std::string>().size() == net::k_placeholder_size);
}

TEST_CASE("render: names derive from the project name (at most 40 characters), and every error is reported at once") {
  engine::Config c = parse(k_secrets);
  engine::RenderOptions o;
  o.runtime_class = "Bad Class";
  o.warm = -1;
  auto r = engine::render_kubernetes(c, "text", lock_for(c), o);
  REQUIRE(!r);
  const std::string& m = r.error().message();
  CHECK(m.find("--runtime-class") != std::string::npos);
  CHECK(m.find("--warm -1") != std::string::npos);
  CHECK(m.find("secrets.GH_TOKEN") != std::string::npos);
  CHECK(m.find("secrets.NPM_TOKEN") != std::string::npos);

  o = {};
  o.secret_refs["GH_TOKEN"] = {"gh", "t"};
  o.secret_refs["NPM_TOKEN"] = {"npm", "t"};
  o.claim = true;
  auto ok = engine::render_kubernetes(c, "text", lock_for(c), o);
  REQUIRE(ok);
  CHECK(find(ok->documents, "SandboxTemplate")["metadata"]["name"] == "a-very-long-project-name-that-goes-past");
  CHECK(find(ok->documents, "Deployment")["metadata"]["name"] == "a-very-long-project-name-that-goes-past-gateway");
  CHECK(find(ok->documents, "SandboxWarmPool")["spec"]["replicas"] == 0);
  CHECK(find(ok->documents, "SandboxClaim")["spec"]["warmPoolRef"]["name"] ==
        "a-very-long-project-name-that-goes-past");
  CHECK(find(ok->documents, "SandboxTemplate")["spec"]["podTemplate"]["spec"]["containers"][0]["image"] ==
        "docker.io/library/alpine@sha256:" + std::string(64, 'a'));
}

TEST_CASE("render: a k8s: source must name a Secret and a key") {
  engine::Config c = parse(k_secrets);
  for (auto& s : c.secrets) s.from_text = s.name == "GH_TOKEN" ? "k8s:../etc/k" : "k8s:npm/";
  auto r = engine::render_kubernetes(c, "text", lock_for(c), {});
  REQUIRE(!r);
  CHECK(r.error().message().find("secrets.GH_TOKEN") != std::string::npos);
  CHECK(r.error().message().find("secrets.NPM_TOKEN") != std::string::npos);
}

TEST_CASE("render: a lock digest that is not sha256:<64 hex> is refused") {
  engine::Config c = parse("");
  engine::Lockfile lock;
  lock.upsert({c.sandbox.image.to_string(), "linux/amd64", "", "sha256:zz\n- evil", "", ""});
  auto r = engine::render_kubernetes(c, "text", lock, {});
  REQUIRE(!r);
  CHECK(r.error().message().find("matchlock lock") != std::string::npos);
}

TEST_CASE("render: secret mappings and git remotes are parsed strictly") {
  CHECK(engine::parse_secret_mapping("A=s/k"));
  CHECK(!engine::parse_secret_mapping("A=s"));
  CHECK(!engine::parse_secret_mapping("=s/k"));
  CHECK(!engine::parse_secret_mapping("A=S/k"));    // uppercase Secret name
  CHECK(!engine::parse_secret_mapping("A=s/k k"));  // key with a space
  CHECK(engine::parse_git_remote("/w=https://github.com/a/b.git"));
  CHECK(engine::parse_git_remote("/w=git@github.com:a/b.git"));  // scp-like: the user is not a credential
  CHECK(!engine::parse_git_remote("/w=https://u:p@github.com/a/b.git"));
  CHECK(!engine::parse_git_remote("/w="));
}
