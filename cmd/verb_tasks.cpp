// `matchlock tasks [--json]`: the Matchlockfile's tasks with descriptions and dependencies.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/lifecycle.hpp"

namespace cmd {

void register_tasks(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("tasks", "List the Matchlockfile's tasks (description, needs, up/default)");
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "Print a JSON array");
  sub->callback([&ctx, json] {
    auto target = engine::resolve_target(ctx.file, "");
    if (!target) {
      ctx.exit_code = report(target.error());
      return;
    }
    const auto& c = target->config;
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : c.tasks) {
      std::vector<std::string> tags;
      if (std::find(c.up.begin(), c.up.end(), t.name) != c.up.end()) tags.push_back("up");
      if (c.default_task == t.name) tags.push_back("default");
      if (t.cache) tags.push_back("cache");
      if (t.interactive) tags.push_back("interactive");
      if (*json) {
        out.push_back({{"name", t.name}, {"description", t.description}, {"needs", t.needs}, {"tags", tags}});
        continue;
      }
      std::string needs, tag;
      for (const auto& n : t.needs) needs += (needs.empty() ? "" : ", ") + n;
      for (const auto& g : tags) tag += (tag.empty() ? "" : ",") + g;
      std::printf("%-16s %s%s%s%s\n", t.name.c_str(), t.description.c_str(),
                  needs.empty() ? "" : ("  (needs " + needs + ")").c_str(), tag.empty() ? "" : "  [", tag.empty() ? "" : (tag + "]").c_str());
    }
    if (*json) std::printf("%s\n", out.dump(2).c_str());
  });
}

}  // namespace cmd
