// `matchlock fetch-branch [NAME]`: bring a sandbox's git-mode branches back
// into the user's repository as matchlock/<sandbox>/<branch>. Works whether
// the sandbox runs or not (it reads the clones in the sandbox's state dir).
#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/git_mounts.hpp"
#include "engine/lifecycle.hpp"
#include "util/fs.hpp"

namespace cmd {

void register_fetch_branch(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "fetch-branch", "Fetch a git-mode sandbox's branches into your repository as matchlock/<sandbox>/<branch>");
  auto name = std::make_shared<std::string>();
  sub->add_option("name", *name, "Sandbox name (default: the Matchlockfile's)")->type_name(k_type_sandbox);
  sub->callback(verb_callback(ctx.exit_code, [&ctx, name]() -> util::Result<int> {
    int code = k_exit_ok;
    std::string n = *name;
    if (n.empty()) {
      auto target = engine::resolve_target(ctx.file, "");
      if (!target) return target.error();
      n = target->name;
    }
    if (auto r = engine::check_sandbox_name(n); !r) return r.error();
    auto paths = engine::sandbox_paths(ctx.dirs, n);
    if (!util::path_exists(paths.dir)) return util::make_error(util::ErrorCode::NotFound, "no sandbox '" + n + "'");
    auto reports = engine::fetch_git_mounts(paths.dir, n);
    if (!reports) return reports.error().context("fetch-branch " + n);
    if (reports->empty()) {
      return util::make_error(util::ErrorCode::NotFound, "sandbox '" + n + "' has no git-mode mount");
    }
    for (const auto& line : engine::describe_fetch(*reports)) std::printf("%s\n", line.c_str());
    for (const auto& r : *reports)
      if (!r.error.empty()) code = k_exit_failure;
    return code;
  }));
}

}  // namespace cmd
