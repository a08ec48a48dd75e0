// policy.toml: parsing (strict, every error with line:col) and finding the files.
#include "engine/machine_policy.hpp"

#include <cstdlib>

#include "engine/config_reader.hpp"
#include "engine/env_overrides.hpp"
#include "util/fs.hpp"

namespace engine {

namespace fs = std::filesystem;

namespace {

using detail::Located;
using detail::Reader;

template <class T>
PolicyValue<T> at(T value, SourcePos pos) {
  return PolicyValue<T>{std::move(value), pos.line};
}

std::vector<PolicyValue<net::Rule>> rules(Reader& r, const toml::table& t, std::string_view key,
                                          const std::string& path) {
  std::vector<PolicyValue<net::Rule>> out;
  for (auto& rule : r.get_rules(t, key, path)) out.push_back(at(std::move(rule.value), rule.pos));
  return out;
}

void parse_network(Reader& r, const toml::table& root, MachinePolicy& p) {
  const toml::table* t = r.get_table(root, "network", "network");
  if (!t) return;
  r.check_keys(*t, "[network]", {"deny", "allow", "allow_block_private_off"});
  p.deny = rules(r, *t, "deny", "network.deny");
  p.allow = rules(r, *t, "allow", "network.allow");
  if (auto b = r.get_bool(*t, "allow_block_private_off", "network.allow_block_private_off"))
    p.block_private_off = at(b->value, b->pos);
}

void parse_secrets(Reader& r, const toml::table& root, MachinePolicy& p) {
  const toml::table* t = r.get_table(root, "secrets", "secrets");
  if (!t) return;
  r.check_keys(*t, "[secrets]", {"sources", "files"});
  if (auto sources = r.get_strings(*t, "sources", "secrets.sources")) {
    std::vector<SecretSource> kinds;
    for (auto& s : *sources) {
      if (s.value == "env")
        kinds.push_back(SecretSource::Env);
      else if (s.value == "file")
        kinds.push_back(SecretSource::File);
      else if (s.value == "cmd")
        kinds.push_back(SecretSource::Cmd);
      else if (s.value == "k8s")
        kinds.push_back(SecretSource::K8s);
      else
        r.error(s.pos, "secrets.sources \"" + s.value + "\" must be one of env, file, cmd, k8s");
    }
    p.secret_sources = at(std::move(kinds), Reader::pos(*t->get("sources")));
  }
  if (auto b = r.get_bool(*t, "files", "secrets.files")) p.secret_files = at(b->value, b->pos);
}

void parse_mounts(Reader& r, const toml::table& root, MachinePolicy& p, const fs::path& home) {
  const toml::table* t = r.get_table(root, "mounts", "mounts");
  if (!t) return;
  r.check_keys(*t, "[mounts]", {"outside_project", "volumes"});
  if (auto dirs = r.get_strings(*t, "outside_project", "mounts.outside_project")) {
    std::vector<fs::path> out;
    for (auto& d : *dirs) {
      fs::path path;
      if (d.value.starts_with("~/") && !home.empty())
        path = home / d.value.substr(2);
      else if (d.value.starts_with("/"))
        path = d.value;
      if (path.empty()) {
        r.error(d.pos, "mounts.outside_project \"" + d.value + "\" must be an absolute path or start with ~/" +
                           (home.empty() && d.value.starts_with("~/") ? " (HOME is not set)" : ""));
        continue;
      }
      out.push_back(path.lexically_normal());
    }
    p.outside = at(std::move(out), Reader::pos(*t->get("outside_project")));
  }
  if (auto b = r.get_bool(*t, "volumes", "mounts.volumes")) p.volumes = at(b->value, b->pos);
}

void parse_sandbox(Reader& r, const toml::table& root, MachinePolicy& p) {
  const toml::table* t = r.get_table(root, "sandbox", "sandbox");
  if (!t) return;
  r.check_keys(*t, "[sandbox]", {"max_cpus", "max_memory", "max_disk"});
  if (auto c = r.get_int(*t, "max_cpus", "sandbox.max_cpus")) {
    if (c->value < 1)
      r.error(c->pos, "sandbox.max_cpus must be at least 1");
    else
      p.max_cpus = at(c->value, c->pos);
  }
  if (auto m = r.get_size(*t, "max_memory", "sandbox.max_memory")) p.max_memory = at(m->value, m->pos);
  if (auto d = r.get_size(*t, "max_disk", "sandbox.max_disk")) p.max_disk = at(d->value, d->pos);
}

}  // namespace

PolicyParseResult parse_machine_policy(std::string_view text, const fs::path& display_path, const fs::path& home) {
  PolicyParseResult result;
  auto parsed = detail::Reader::parse_toml(text, display_path.string(), result.diagnostics);
  if (!parsed) return result;
  toml::table& root = *parsed;
  Config scratch;  // the Reader records positions into it; unused here
  Reader r(result.diagnostics, scratch);
  MachinePolicy p;
  p.file = display_path;
  r.check_keys(root, "the top level of policy.toml", {"version", "network", "secrets", "mounts", "sandbox"});
  if (auto v = r.get_int(root, "version", "version"); v && v->value != 1)
    r.error(v->pos, "unsupported policy version " + std::to_string(v->value) + " (this matchlock reads version = 1)");
  parse_network(r, root, p);
  parse_secrets(r, root, p);
  parse_mounts(r, root, p, home);
  parse_sandbox(r, root, p);
  if (result.diagnostics.empty()) result.policy = std::move(p);
  return result;
}

std::vector<fs::path> machine_policy_paths(const util::Dirs& dirs) {
  const auto& env = env_overrides();  // a malformed MATCHLOCK_* elsewhere does not hide the policy
  fs::path system = env && !env->system_policy.empty() ? env->system_policy : fs::path("/etc/matchlock/policy.toml");
  return {system, dirs.config / "policy.toml"};
}

util::Result<std::vector<MachinePolicy>> load_machine_policies(const util::Dirs& dirs) {
  std::vector<MachinePolicy> out;
  const char* home = std::getenv("HOME");
  for (const auto& path : machine_policy_paths(dirs)) {
    std::error_code ec;
    if (!fs::exists(path, ec) && !ec) continue;
    auto text = util::read_file(path);
    if (!text) return std::move(text).error().context("machine policy");
    auto parsed = parse_machine_policy(*text, path, home ? fs::path(home) : fs::path());
    if (!parsed.policy) {
      std::string lines = parsed.diagnostics.format(path);
      if (!lines.empty() && lines.back() == '\n') lines.pop_back();
      return util::make_error(util::ErrorCode::Config, lines);
    }
    out.push_back(std::move(*parsed.policy));
  }
  return out;
}

util::Result<void> bound_by_machine_policy(const util::Dirs& dirs, Config& config) {
  auto policies = ML_TRY(load_machine_policies(dirs));
  if (policies.empty()) return util::ok();
  Diagnostics diags;
  apply_machine_policies(config, policies, diags);
  if (diags.empty()) return util::ok();
  std::string lines = diags.format(config.file);
  if (!lines.empty() && lines.back() == '\n') lines.pop_back();
  return util::make_error(util::ErrorCode::Config, lines);
}

}  // namespace engine
