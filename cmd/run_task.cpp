#include "cmd/run_task.hpp"

#include <algorithm>
#include <cstdio>

#include "cmd/exit_code.hpp"
#include "cmd/up_frozen.hpp"
#include "engine/exec_env.hpp"
#include "engine/lifecycle.hpp"
#include "engine/task_graph.hpp"
#include "util/log.hpp"

namespace cmd {

std::optional<int> try_run_task(Context& ctx, const RunTaskRequest& req) {
  auto target = engine::resolve_target(ctx.file, "");
  if (!target) return std::nullopt;  // no Matchlockfile: a plain command (run reports its own errors)
  if (req.trust) target->trust = engine::TrustFlag::Granted;
  target->no_snapshot = req.no_snapshot;
  std::string task;
  std::vector<std::string> args;
  if (req.words.empty()) {
    if (target->config.default_task.empty()) return std::nullopt;
    task = target->config.default_task;
  } else {
    if (!target->config.find_task(req.words.front())) return std::nullopt;
    task = req.words.front();
    args.assign(req.words.begin() + 1, req.words.end());
  }
  auto order = engine::task_order(target->config, task);
  if (!order) return report(order.error());
  if (req.dry_run) {
    for (size_t i = 0; i < order->size(); ++i) std::printf("%zu. %s\n", i + 1, (*order)[i].c_str());
    return 0;
  }
  auto env = engine::resolve_env_flags(req.env);
  if (!env) return report(env.error());
  std::optional<engine::LockedImage> pin;
  if (req.frozen) {
    auto p = frozen_pin(ctx);
    if (!p) return report(p.error());
    pin = *p;
  }
  auto up = engine::ensure_up(ctx.dirs, *target, engine::Recreate::No);
  if (!up) return report(up.error());
  if (pin) {
    if (auto ok = check_frozen_boot(*pin, up->record); !ok) {
      // A sandbox this call booted from a moved tag does not stay up.
      if (up->booted)
        (void)engine::stop_sandbox(ctx.dirs, target->name, engine::KeepDisk::No, std::chrono::seconds(30));
      return report(ok.error());
    }
  }
  if (up->booted) util::log::debug("sandbox " + target->name + " started in " + std::to_string(up->up_ms) + " ms");
  int code = 0;
  if (up->booted) {
    // A fresh sandbox gets its `up` tasks first, as with `matchlock up`.
    auto up_order = engine::up_task_order(target->config);
    if (!up_order) return report(up_order.error());
    auto r = engine::run_up_tasks(ctx.dirs, *target, *up_order, up->record);
    if (!r) return report(r.error());
    code = *r;
    // Each task once: what the up chain just ran is done.
    std::erase_if(*order, [&](const std::string& t) {
      return t != task && std::find(up_order->begin(), up_order->end(), t) != up_order->end();
    });
  }
  if (code == 0) {
    auto r = engine::run_task_chain(ctx.dirs, *target, *order, args, *env);
    code = r ? *r : report(r.error());
  }
  if (req.remove) {
    if (auto s = engine::stop_sandbox(ctx.dirs, target->name, engine::KeepDisk::No, std::chrono::seconds(30)); !s) {
      report(s.error());
    } else if (auto rm = engine::remove_sandbox(ctx.dirs, target->name); !rm) {
      report(rm.error());
    }
  }
  return code;
}

}  // namespace cmd
