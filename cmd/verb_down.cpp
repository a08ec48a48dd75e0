// `matchlock down [NAME|--all] [--keep] [--timeout S]`
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/lifecycle.hpp"

namespace cmd {

void register_down(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("down", "Stop a sandbox (graceful guest shutdown, then kill); removes its writable disk");
  auto name = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  auto keep = std::make_shared<bool>(false);
  auto timeout = std::make_shared<int>(30);
  sub->add_option("name", *name, "Sandbox name (default: the Matchlockfile's)");
  sub->add_flag("--all", *all, "Stop every sandbox");
  sub->add_flag("--keep", *keep, "Keep the writable disk");
  sub->add_option("--timeout", *timeout, "Seconds to wait for a graceful stop before killing");
  sub->callback([&ctx, name, all, keep, timeout] {
    std::vector<std::string> names;
    if (*all) {
      names = engine::list_sandboxes(ctx.dirs);
    } else if (!name->empty()) {
      names = {*name};
    } else {
      auto target = engine::resolve_target(ctx.file, "");
      if (!target) {
        ctx.exit_code = report(target.error());
        return;
      }
      names = {target->name};
    }
    for (const auto& n : names) {
      auto r = engine::stop_sandbox(ctx.dirs, n, *keep ? engine::KeepDisk::Yes : engine::KeepDisk::No, std::chrono::seconds(*timeout));
      if (!r) {
        ctx.exit_code = report(r.error().context(n));
        continue;
      }
      std::printf("%s stopped\n", n.c_str());
    }
  });
}

}  // namespace cmd
