#include "engine/task_layers.hpp"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "engine/layer_store.hpp"
#include "engine/lifecycle.hpp"
#include "util/fs.hpp"
#include "util/glob.hpp"
#include "util/sha256.hpp"

namespace engine {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* k_key_version = "matchlock-layer/1";
constexpr std::chrono::seconds k_freeze_timeout{60};  // a large dirty page cache under TCG

bool has_magic(const std::string& component) { return component.find_first_of("*?[\\") != std::string::npos; }

util::Result<void> hash_file(const fs::path& path, const std::string& rel, std::map<std::string, std::string>& out) {
  if (out.count(rel)) return util::ok();
  out[rel] = ML_TRY_CTX(util::sha256_file(path), "inputs");
  return util::ok();
}

// Every regular file below ROOT (recursively) whose path relative to BASE matches PATTERN (or any, when empty).
util::Result<void> walk(const fs::path& base, const fs::path& root, const std::string& pattern,
                        std::map<std::string, std::string>& out) {
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string rel = it->path().lexically_relative(base).generic_string();
    if (pattern.empty() || util::glob_match(pattern, rel)) ML_TRY(hash_file(it->path(), rel, out));
  }
  if (ec) return util::make_error(util::ErrorCode::Io, "inputs: " + root.string() + ": " + ec.message());
  return util::ok();
}

// rel path -> sha256 of every file the task's `inputs` name (a directory: every file below it).
util::Result<std::map<std::string, std::string>> hash_inputs(const Config& config, const Task& task) {
  std::map<std::string, std::string> out;
  for (std::string pattern : task.inputs) {
    while (pattern.starts_with("./")) pattern.erase(0, 2);
    std::string prefix;  // the leading components without glob characters
    bool literal = true;
    size_t start = 0;
    while (start <= pattern.size()) {
      size_t slash = pattern.find('/', start);
      std::string part = pattern.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      if (has_magic(part)) {
        literal = false;
        break;
      }
      prefix += (prefix.empty() ? "" : "/") + part;
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    fs::path root = prefix.empty() ? config.base_dir : config.base_dir / prefix;
    std::error_code ec;
    auto st = fs::status(root, ec);
    if (ec || !fs::exists(st)) continue;  // nothing matches (yet): part of the key as an absence
    if (literal && fs::is_regular_file(st)) {
      ML_TRY(hash_file(root, fs::path(prefix).generic_string(), out));
    } else if (fs::is_directory(st)) {
      ML_TRY(walk(config.base_dir, root, literal ? std::string() : pattern, out));
    }
  }
  return out;
}

std::string task_key(const Config& config, const Task& task, const std::string& base, const std::string& parent,
                     const std::map<std::string, std::string>& inputs) {
  std::map<std::string, std::string> env = config.sandbox.env;
  for (const auto& [k, v] : task.env) env[k] = v;
  json def = {{"run", task.run},
              {"shell", task.run_is_shell},
              {"env", env},
              {"user", task.user.empty() ? config.sandbox.user : task.user},
              {"workdir", task.workdir.empty() ? config.sandbox.workdir : task.workdir},
              {"inputs", task.inputs}};
  std::string text = std::string(k_key_version) + "\nbase " + base + "\nparent " + parent + "\ntask " + task.name +
                     "\ndef " + def.dump() + "\n";
  for (const auto& [rel, sha] : inputs) text += "input " + sha + " " + rel + "\n";
  return util::sha256_hex(text);
}

}  // namespace

util::Result<std::string> rootfs_sha256(const fs::path& image_ext4) {
  fs::path sidecar = image_ext4;
  sidecar.replace_extension(".json");
  auto text = ML_TRY_CTX(util::read_file(sidecar), "rootfs description");
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("sha256") || !j["sha256"].is_string())
    return util::make_error(util::ErrorCode::Io, sidecar.string() + ": no sha256");
  return j["sha256"].get<std::string>();
}

size_t cacheable_prefix(const Config& config, const std::vector<std::string>& order) {
  size_t end = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const Task* task = config.find_task(order[i]);
    if (!task) break;
    if (task->cache) end = i + 1;
  }
  return end;
}

util::Result<TaskKeys> task_layer_keys(const Config& config, const std::string& base,
                                       const std::vector<std::string>& order) {
  TaskKeys keys;
  std::string parent = "-";
  // Every task of the prefix is chained into the key, cached or not: a layer holds
  // the work of the uncached tasks before it too.
  for (size_t i = 0, end = cacheable_prefix(config, order); i < end; ++i) {
    const Task* task = config.find_task(order[i]);
    auto inputs = ML_TRY_CTX(hash_inputs(config, *task), "task " + order[i]);
    parent = task_key(config, *task, base, parent, inputs);
    if (task->cache) keys.emplace_back(order[i], parent);
  }
  return keys;
}

util::Result<LayerPlan> plan_task_layers(const util::Dirs& dirs, const Config& config, const std::string& base,
                                         const std::vector<std::string>& order) {
  LayerPlan plan;
  plan.capture = ML_TRY(task_layer_keys(config, base, order));
  for (size_t i = plan.capture.size(); i-- > 0;) {
    auto stack = layer_stack(dirs, plan.capture[i].second);
    if (stack.empty()) continue;
    plan.attach = std::move(stack);
    // Every task up to this one in the order, the uncached ones before it included.
    for (const auto& name : order) {
      plan.skipped.push_back(name);
      if (name == plan.capture[i].first) break;
    }
    plan.capture.erase(plan.capture.begin(), plan.capture.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    break;
  }
  return plan;
}

std::vector<std::string> uncacheable_tasks(const Config& config, const std::vector<std::string>& order) {
  std::vector<std::string> out;
  for (const auto& t : config.tasks) {
    if (!t.cache || std::find(order.begin(), order.end(), t.name) != order.end()) continue;
    out.push_back(
        config.where("tasks." + t.name + ".cache") + ": task " + t.name +
        ": cache = true, but `up` does not run it, so it is never cached (only the tasks `up` runs, and their needs, "
        "are captured as layers; add it to `up`)");
  }
  return out;
}

util::Result<LayerPlan> plan_sandbox_layers(const util::Dirs& dirs, const Config& config, const fs::path& image_ext4) {
  if (std::none_of(config.tasks.begin(), config.tasks.end(), [](const Task& t) { return t.cache; })) return LayerPlan{};
  auto order = ML_TRY(up_task_order(config));
  std::string base = ML_TRY(rootfs_sha256(image_ext4));
  return plan_task_layers(dirs, config, base, order);
}

util::Result<LayerMeta> capture_task_layer(const util::Dirs& dirs, protocol::Client& client, const fs::path& upper,
                                           LayerMeta meta) {
  ML_TRY_CTX(client.freeze_writable(k_freeze_timeout), "capture layer");
  auto published = publish_layer(dirs, upper, std::move(meta));
  auto thawed = client.thaw_writable(k_freeze_timeout);
  if (!published) return std::move(published).error().context("capture layer");
  if (!thawed) return std::move(thawed).error().context("capture layer");
  return published;
}

const char* to_string(LayerState s) {
  switch (s) {
    case LayerState::Cached:
      return "cached";
    case LayerState::Stale:
      return "stale";
    case LayerState::NotCached:
      return "-";
  }
  return "-";
}

std::map<std::string, LayerState> task_layer_states(const util::Dirs& dirs, const Config& config,
                                                    const TaskKeys& keys) {
  std::map<std::string, LayerState> states;
  for (const auto& t : config.tasks) states[t.name] = t.cache ? LayerState::Stale : LayerState::NotCached;
  std::map<std::string, std::string> key_of(keys.begin(), keys.end());
  for (const auto& t : config.tasks) {
    if (!t.cache) continue;
    auto it = key_of.find(t.name);
    if (it == key_of.end()) {
      states[t.name] = LayerState::NotCached;  // outside the cacheable prefix of `up`
    } else if (!layer_stack(dirs, it->second).empty()) {
      states[t.name] = LayerState::Cached;
    }
  }
  return states;
}

}  // namespace engine
