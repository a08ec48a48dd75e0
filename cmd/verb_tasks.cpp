// `matchlock tasks [--json]`: the Matchlockfile's tasks with their cache state
// (cached / stale / -), descriptions and dependencies.
#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/lifecycle.hpp"
#include "engine/image_pull.hpp"
#include "engine/task_layers.hpp"
#include "util/log.hpp"

namespace cmd {

namespace {

// cached / stale / - per task (engine/task_layers.hpp); unknown (stale) while the image is not cached.
std::map<std::string, engine::LayerState> cache_states(const Context& ctx, const engine::Config& c) {
  std::map<std::string, engine::LayerState> states;
  // Without the image: stale for the cache = true tasks of up's cacheable prefix, "-" for the
  // rest (a cache = true task up never runs is never cached, whatever the image).
  std::set<std::string> prefix;
  if (auto order = engine::up_task_order(c))
    prefix.insert(order->begin(), order->begin() + static_cast<std::ptrdiff_t>(engine::cacheable_prefix(c, *order)));
  for (const auto& t : c.tasks)
    states[t.name] = t.cache && prefix.count(t.name) ? engine::LayerState::Stale : engine::LayerState::NotCached;
  if (std::none_of(c.tasks.begin(), c.tasks.end(), [](const engine::Task& t) { return t.cache; })) return states;
  auto keys = [&]() -> util::Result<engine::TaskKeys> {
    // From the cache alone: listing tasks never pulls or builds an image.
    auto platform =
        c.sandbox.platform.empty() ? oci::Platform::host() : ML_TRY(oci::Platform::parse(c.sandbox.platform));
    auto image = ML_TRY(engine::resolve_cached(ctx.dirs, c.sandbox.image, platform));
    if (!image || image->rootfs.empty())
      return util::make_error(util::ErrorCode::NotFound, c.sandbox.image.to_string() + " is not pulled yet");
    auto order = ML_TRY(engine::up_task_order(c));
    return engine::task_layer_keys(c, ML_TRY(engine::rootfs_sha256(image->rootfs)), order);
  }();
  if (!keys) {
    util::log::warn("task cache states unknown: " + keys.error().message());
    return states;
  }
  return engine::task_layer_states(ctx.dirs, c, *keys);
}

}  // namespace

void register_tasks(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("tasks", "List the Matchlockfile's tasks (description, needs, up/default)");
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "Print a JSON array");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, json]() -> util::Result<int> {
    auto target = engine::resolve_target(ctx.file, "");
    if (!target) return target.error();
    const auto& c = target->config;
    auto states = cache_states(ctx, c);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : c.tasks) {
      std::vector<std::string> tags;
      if (std::find(c.up.begin(), c.up.end(), t.name) != c.up.end()) tags.push_back("up");
      if (c.default_task == t.name) tags.push_back("default");
      if (t.cache) tags.push_back("cache");
      if (t.interactive) tags.push_back("interactive");
      if (*json) {
        out.push_back({{"name", t.name},
                       {"description", t.description},
                       {"needs", t.needs},
                       {"tags", tags},
                       {"cache_state", engine::to_string(states[t.name])}});
        continue;
      }
      std::string needs, tag;
      for (const auto& n : t.needs) needs += (needs.empty() ? "" : ", ") + n;
      for (const auto& g : tags) tag += (tag.empty() ? "" : ",") + g;
      std::printf("%-16s %-7s %s%s%s%s\n", t.name.c_str(), engine::to_string(states[t.name]), t.description.c_str(),
                  needs.empty() ? "" : ("  (needs " + needs + ")").c_str(), tag.empty() ? "" : "  [",
                  tag.empty() ? "" : (tag + "]").c_str());
    }
    if (*json) std::printf("%s\n", out.dump(2).c_str());
    if (auto order = engine::up_task_order(c))
      for (const auto& w : engine::uncacheable_tasks(c, *order)) util::log::warn(w);
    return k_exit_ok;
  }));
}

}  // namespace cmd
