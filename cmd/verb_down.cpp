// `matchlock down [NAME|--all] [--keep] [--timeout S]`
#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/git_mounts.hpp"
#include "engine/lifecycle.hpp"

namespace cmd {

void register_down(CLI::App& app, Context& ctx) {
  auto* sub =
      app.add_subcommand("down", "Stop a sandbox (graceful guest shutdown, then kill); removes its writable disk");
  auto name = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  auto keep = std::make_shared<bool>(false);
  auto timeout = std::make_shared<int>(30);
  sub->add_option("name", *name, "Sandbox name (default: the Matchlockfile's)")->type_name(k_type_sandbox);
  sub->add_flag("--all", *all, "Stop every sandbox");
  sub->add_flag("--keep", *keep, "Keep the writable disk (and git-mode clones)");
  sub->add_option("--timeout", *timeout, "Seconds to wait for a graceful stop before killing")->type_name("SECONDS");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, name, all, keep, timeout]() -> util::Result<int> {
    int code = k_exit_ok;
    std::vector<std::string> names;
    if (*all) {
      names = engine::list_sandboxes(ctx.dirs);
    } else if (!name->empty()) {
      names = {*name};
    } else {
      auto target = engine::resolve_target(ctx.file, "");
      if (!target) return target.error();
      names = {target->name};
    }
    for (const auto& n : names) {
      auto r = engine::stop_sandbox(ctx.dirs, n, *keep ? engine::KeepDisk::Yes : engine::KeepDisk::No,
                                    std::chrono::seconds(*timeout));
      if (!r) {
        code = report(r.error().context(n));
        continue;
      }
      std::printf("%s stopped\n", n.c_str());
      // Git mode: the sandbox's branches come back as matchlock/<name>/<branch>;
      // the clones go with the writable disk, but only once fetched.
      auto state_dir = engine::sandbox_paths(ctx.dirs, n).dir;
      auto fetched = engine::fetch_git_mounts(state_dir, n);
      if (!fetched) {
        code = report(fetched.error().context(n + ": fetch-branch"));
        continue;
      }
      bool all_ok = true;
      for (const auto& line : engine::describe_fetch(*fetched)) std::printf("%s\n", line.c_str());
      for (const auto& f : *fetched) all_ok = all_ok && f.error.empty();
      if (!all_ok) {
        code = k_exit_failure;
        std::fprintf(stderr, "matchlock: the git clones stay in %s/git until `matchlock fetch-branch %s` succeeds\n",
                     state_dir.c_str(), n.c_str());
      } else if (!*keep) {
        if (auto removed = engine::remove_git_clones(state_dir); !removed) code = report(removed.error());
      }
    }
    return code;
  }));
}

}  // namespace cmd
