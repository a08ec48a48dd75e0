// `matchlock rm NAME...`: delete stopped sandboxes' state (disk, logs, record).
#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/lifecycle.hpp"

namespace cmd {

void register_rm(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("rm", "Remove stopped sandboxes (their disk, logs and record)");
  auto names = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  sub->add_option("names", *names, "Sandbox names (default: the Matchlockfile's)")->type_name(k_type_sandbox);
  sub->add_flag("-f,--force", *force, "Stop a running sandbox first");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, names, force]() -> util::Result<int> {
    int code = k_exit_ok;
    if (names->empty()) {
      auto target = engine::resolve_target(ctx.file, "");
      if (!target) return target.error();
      names->push_back(target->name);
    }
    for (const auto& n : *names) {
      if (*force) {
        if (auto s = engine::stop_sandbox(ctx.dirs, n, engine::KeepDisk::No, std::chrono::seconds(30)); !s) {
          code = report(s.error().context(n));
          continue;
        }
      }
      auto r = engine::remove_sandbox(ctx.dirs, n);
      if (!r) {
        code = report(r.error());
        continue;
      }
      std::printf("%s removed\n", n.c_str());
    }
    return code;
  }));
}

}  // namespace cmd
