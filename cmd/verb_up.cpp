// `matchlock up [--name N] [--json] [--recreate] [--dry-run] [--frozen]`
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <nlohmann/json.hpp>

#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/up_frozen.hpp"
#include "cmd/verbs.hpp"
#include "engine/guest_platform.hpp"
#include "engine/image_pull.hpp"
#include "engine/lifecycle.hpp"
#include "engine/machine_policy.hpp"
#include "engine/run_image.hpp"
#include "oci/local_resolve.hpp"
#include "engine/sandbox_state.hpp"
#include "engine/task_layers.hpp"
#include "util/log.hpp"

namespace cmd {

namespace {

void print_summary(const engine::UpResult& up, const engine::SandboxPaths& paths) {
  const auto& r = up.record;
  std::printf("sandbox  %s (%s)\n", r.name.c_str(), up.booted ? "started" : "already running");
  std::printf("image    %s@%s\n", r.image.c_str(), r.image_digest.c_str());
  std::printf("backend  %s%s%s, accel %s, %d cpus, %llu MiB\n", r.backend.c_str(), r.platform.empty() ? "" : " ",
              r.platform.c_str(), r.accel.c_str(), r.cpus, static_cast<unsigned long long>(r.memory_bytes >> 20));
  std::string hosts;
  for (const auto& h : r.allowed_hosts) hosts += (hosts.empty() ? "" : ", ") + h;
  std::printf("allowed  %s\n", hosts.empty() ? "(no hosts)" : hosts.c_str());
  for (const auto& m : r.mounts) std::printf("mount    %s\n", m.c_str());
  for (const auto& p : r.ports) std::printf("port     127.0.0.1:%u -> guest 127.0.0.1:%u\n", p.host, p.guest);
  if (!r.layers.empty()) {
    std::string tasks;
    for (const auto& t : r.cached_tasks) tasks += (tasks.empty() ? "" : ", ") + t;
    std::printf("layer    %.12s (cached: %s)\n", r.layers.front().c_str(), tasks.c_str());
  }
  std::printf("ready    %lld ms boot, %lld ms this command\n", static_cast<long long>(r.ready_ms),
              static_cast<long long>(up.up_ms));
  std::printf("state    %s\n", paths.dir.c_str());
}

// `up --dry-run`: what the image resolves to from the cache alone (no network).
std::string image_plan_line(Context& ctx, const engine::SandboxTarget& t) {
  const auto& ref = t.config.sandbox.image;
  auto platform = engine::guest_platform("", &t.config);
  if (!platform) return "image " + ref.to_string() + ": " + platform.error().message();
  auto cached = engine::resolve_cached(ctx.dirs, ref, platform->platform);
  if (!cached) return "image " + ref.to_string() + ": " + cached.error().message();
  if (!*cached) return "image " + ref.to_string() + ": not cached (up pulls it and builds the ext4 rootfs)";
  const auto& c = **cached;
  return "image " + ref.to_string() + " -> " + c.manifest_digest + " (cached from " + c.source + "; rootfs " +
         (c.rootfs.empty() ? std::string("to be built") : c.rootfs.string()) + ")";
}

}  // namespace

void register_up(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("up", "Boot the sandbox in the background, run the `up` tasks and report it");
  auto name = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto recreate = std::make_shared<bool>(false);
  auto dry_run = std::make_shared<bool>(false);
  sub->add_option("--name", *name, "Sandbox name (default: the Matchlockfile's name)")->type_name(k_type_sandbox);
  sub->add_flag("--json", *json, "Print one final JSON object");
  sub->add_flag("--recreate", *recreate, "Restart the sandbox when the Matchlockfile changed since it booted");
  sub->add_flag("--dry-run", *dry_run, "Print the plan without acting");
  auto pull = std::make_shared<std::string>("missing");
  sub->add_option("--pull", *pull,
                  "always: re-check the tag at the registry; missing (default): only when not cached; never")
      ->type_name("always|missing|never");
  auto frozen = std::make_shared<bool>(false);
  sub->add_flag("--frozen", *frozen,
                "Boot exactly the image Matchlockfile.lock pins; fail (exit 3) if it is missing or stale");
  auto trust = std::make_shared<bool>(false);
  sub->add_flag("--trust", *trust, "Approve the Matchlockfile's network/secret/mount policy without asking (CI)");
  auto no_snapshot = std::make_shared<bool>(false);
  sub->add_flag("--no-snapshot", *no_snapshot, "Boot cold: neither resume nor save a memory snapshot");
  sub->callback(verb_callback(
      ctx.exit_code, [&ctx, name, json, recreate, dry_run, trust, pull, frozen, no_snapshot]() -> util::Result<int> {
        auto target = engine::resolve_target(ctx.file, *name);
        if (!target) return target.error();
        if (*trust) target->trust = engine::TrustFlag::Granted;
        target->no_snapshot = *no_snapshot;
        // The machine's policy.toml, before anything is pulled (exit 2 with every violation).
        if (auto bounded = engine::bound_by_machine_policy(ctx.dirs, target->config); !bounded) return bounded.error();
        auto policy = oci::parse_pull_policy(*pull);
        if (!policy) return policy.error();
        if (*dry_run) {
          std::printf("%s\n", image_plan_line(ctx, *target).c_str());
          for (const auto& step : engine::up_plan(ctx.dirs, *target)) std::printf("%s\n", step.c_str());
          return k_exit_ok;
        }
        auto order = engine::up_task_order(target->config);
        if (!order) return order.error();
        for (const auto& w : engine::uncacheable_tasks(target->config, *order)) util::log::warn(w);
        std::optional<engine::LockedImage> pin;
        if (*frozen) {
          auto p = frozen_pin(ctx);
          if (!p) return p.error();
          pin = *p;
        }
        // Pull here, with progress on stderr (-q: none), so the supervisor finds the image cached.
        auto progress = oci::make_progress(ctx.quiet ? oci::ProgressStyle::None : oci::ProgressStyle::Auto, stderr);
        auto platform = engine::guest_platform("", &target->config);
        auto image = platform ? engine::prepare_image(ctx.dirs, target->config.sandbox.image, platform->platform,
                                                      progress.get(), *policy)
                              : util::Result<engine::BootableImage>(platform.error());
        if (!image) return image.error();
        auto up = engine::ensure_up(ctx.dirs, *target, *recreate ? engine::Recreate::Yes : engine::Recreate::No);
        if (!up) return up.error();
        if (pin) {
          if (auto ok = check_frozen_boot(*pin, up->record); !ok) {
            // A sandbox this call booted from a moved tag does not stay up.
            if (up->booted)
              (void)engine::stop_sandbox(ctx.dirs, target->name, engine::KeepDisk::No, std::chrono::seconds(30));
            return ok.error();
          }
        }
        int task_code = 0;
        if (up->booted && !order->empty()) {
          // With --json, task output goes to stderr so stdout stays one JSON object.
          auto r = engine::run_up_tasks(ctx.dirs, *target, *order, up->record, *json ? STDERR_FILENO : STDOUT_FILENO);
          if (!r) return r.error();
          task_code = *r;
        }
        auto paths = engine::sandbox_paths(ctx.dirs, target->name);
        if (*json) {
          auto j = nlohmann::json::parse(engine::record_to_json(up->record));
          j["booted"] = up->booted;
          j["up_ms"] = up->up_ms;
          j["up_tasks"] = *order;
          j["up_tasks_exit_code"] = task_code;
          std::printf("%s\n", j.dump(2).c_str());
        } else if (!ctx.quiet) {  // -q: errors and the tasks' own output only
          print_summary(*up, paths);
        }
        return task_code;
      }));
}

}  // namespace cmd
