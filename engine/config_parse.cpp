// parse_config: TOML text -> engine::Config, collecting every error.
// Top-level keys here; sections in config_sections.cpp, config_policy.cpp, config_tasks.cpp.
#include "engine/config_parse.hpp"

#include <algorithm>

#include "engine/config_reader.hpp"
#include "util/fs.hpp"

namespace engine {

namespace {

bool is_valid_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'))) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

// The directory name turned into a valid sandbox name: "My Project" -> "my-project".
std::string name_from_dir(const std::filesystem::path& dir) {
  std::string raw = dir.filename().string();
  if (raw.empty()) raw = dir.parent_path().filename().string();
  std::string out;
  for (char c : raw) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (ok)
      out += c;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "sandbox" : out;
}

void parse_top(detail::Reader& r, const toml::table& root) {
  Config& c = r.config();
  r.check_keys(root, "the top level",
               {"version", "name", "up", "default", "sandbox", "mounts", "network", "secrets", "tasks", "ports"});
  if (auto v = r.get_int(root, "version", "version")) {
    if (v->value != 1)
      r.error(v->pos, "unsupported version " + std::to_string(v->value) + " (this matchlock reads version = 1)");
  } else if (!root.get("version")) {
    r.error({1, 1}, "missing required key \"version\" (add: version = 1)");
  }
  c.name = name_from_dir(c.base_dir);
  if (auto n = r.get_string(root, "name", "name")) {
    if (is_valid_name(n->value))
      c.name = n->value;
    else
      r.error(n->pos, "name \"" + n->value + "\" must match [a-z0-9][a-z0-9-]* (at most 63 characters)");
  }
  if (auto up = r.get_strings(root, "up", "up"))
    for (auto& t : *up) c.up.push_back(t.value);
  if (auto d = r.get_string(root, "default", "default")) c.default_task = d->value;
}

}  // namespace

ParseResult parse_config(std::string_view text, const std::filesystem::path& display_path,
                         const std::filesystem::path& base_dir) {
  ParseResult result;
  Config config;
  config.file = display_path;
  config.base_dir = base_dir.lexically_normal();
  auto parsed = detail::Reader::parse_toml(text, display_path.string(), result.diagnostics);
  if (!parsed) return result;
  toml::table& root = *parsed;
  detail::Reader r(result.diagnostics, config);
  parse_top(r, root);
  detail::parse_sandbox(r, root);
  detail::parse_mounts(r, root);
  detail::parse_network(r, root);
  detail::parse_secrets(r, root);
  detail::parse_tasks(r, root);
  detail::parse_ports(r, root);
  detail::check_task_references(r);
  if (config.sandbox.hostname.empty()) config.sandbox.hostname = config.name;
  if (config.sandbox.workdir.empty() && !config.mounts.empty()) config.sandbox.workdir = config.mounts.front().target;
  if (result.diagnostics.empty()) result.config = std::move(config);
  return result;
}

util::Result<Config> load_config(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) abs = path;
  abs = abs.lexically_normal();
  auto text = util::read_file(abs);
  if (!text) return std::move(text).error();
  ParseResult parsed = parse_config(*text, path, abs.parent_path());
  if (!parsed.config) {
    std::string lines = parsed.diagnostics.format(path);
    if (!lines.empty() && lines.back() == '\n') lines.pop_back();
    return util::make_error(util::ErrorCode::Config, lines);
  }
  parsed.config->file = abs;
  return std::move(*parsed.config);
}

}  // namespace engine
