// `matchlock diff [NAME] [--json]` and `matchlock export [NAME] --to DIR |
// --patch FILE [--mount TARGET]`: what the guest changed in the sandbox's
// snapshot mounts, and bringing it out. Both ask the running sandbox's
// supervisor (engine/snapshot.hpp); the host share itself is never written
// unless the user names it as --to.
#include <filesystem>

#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/lifecycle.hpp"
#include "engine/snapshot.hpp"

namespace cmd {

namespace {

util::Result<std::string> sandbox_name(const Context& ctx, const std::string& name) {
  if (!name.empty()) return name;
  auto target = ML_TRY(engine::resolve_target(ctx.file, ""));
  return target.name;
}

void print_changes(const nlohmann::json& reply, bool several) {
  for (const auto& m : reply.value("mounts", nlohmann::json::array())) {
    if (several) std::printf("# %s\n", m.value("target", "").c_str());
    for (const auto& c : m.value("changes", nlohmann::json::array()))
      std::printf("%s %s\n", c.value("kind", "?").c_str(), c.value("path", "").c_str());
  }
}

}  // namespace

void register_diff(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("diff", "List what the guest changed in the sandbox's snapshot mounts (A/M/D)");
  auto name = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  sub->add_option("name", *name, "Sandbox name (default: the Matchlockfile's)")->type_name(k_type_sandbox);
  sub->add_flag("--json", *as_json, "Print JSON");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, name, as_json]() -> util::Result<int> {
    auto reply = [&]() -> util::Result<nlohmann::json> {
      std::string n = ML_TRY(sandbox_name(ctx, *name));
      return engine::snapshot_request(ctx.dirs, n, {{"op", "diff"}});
    }();
    if (!reply) return reply.error().context("diff");
    if (*as_json) {
      std::printf("%s\n", (*reply)["mounts"].dump(2).c_str());
      return k_exit_ok;
    }
    print_changes(*reply, (*reply)["mounts"].size() > 1);
    return k_exit_ok;
  }));
}

void register_export(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("export", "Copy the changes of a snapshot mount into a directory or a patch");
  auto name = std::make_shared<std::string>();
  auto to = std::make_shared<std::string>();
  auto patch = std::make_shared<std::string>();
  auto mount = std::make_shared<std::string>();
  sub->add_option("name", *name, "Sandbox name (default: the Matchlockfile's)")->type_name(k_type_sandbox);
  sub->add_option("--to", *to, "Apply the changes (writes and deletions) to this directory (may be the share itself)")
      ->type_name(k_type_dir);
  sub->add_option("--patch", *patch, "Write a unified diff (apply with patch -p1 in the share)")
      ->type_name(k_type_file);
  sub->add_option("--mount", *mount, "The snapshot mount's guest target (when there are several)")->type_name("PATH");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, name, to, patch, mount]() -> util::Result<int> {
    auto reply = [&]() -> util::Result<nlohmann::json> {
      if (to->empty() && patch->empty())
        return util::make_error(util::ErrorCode::Usage, "give --to DIR and/or --patch FILE");
      std::string n = ML_TRY(sandbox_name(ctx, *name));
      nlohmann::json req = {{"op", "export"}, {"mount", *mount}};
      if (!to->empty()) req["to"] = std::filesystem::absolute(*to).string();
      if (!patch->empty()) req["patch"] = std::filesystem::absolute(*patch).string();
      return engine::snapshot_request(ctx.dirs, n, req);
    }();
    if (!reply) return reply.error().context("export");
    print_changes(*reply, false);
    return k_exit_ok;
  }));
}

}  // namespace cmd
