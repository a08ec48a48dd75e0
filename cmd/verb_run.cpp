// `matchlock run [--rm] [-e K=V] [-w DIR] [-u USER] [-t] [--image REF] [-- CMD...]`
// `matchlock run [--rm] [--dry-run] [-e K=V] TASK [-- ARGS]` (cmd/run_task.hpp)
// --frozen (both forms): the image must be the one Matchlockfile.lock pins (exit 3).
#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/run_task.hpp"
#include "cmd/up_frozen.hpp"
#include "cmd/verbs.hpp"
#include "engine/run.hpp"
#include "oci/local_resolve.hpp"

namespace cmd {

void register_run(CLI::App& app, Context& ctx) {
  auto* sub =
      app.add_subcommand("run", "Boot a sandbox and run a command in it (default: the image's Entrypoint + Cmd)");
  auto o = std::make_shared<engine::RunOptions>();
  auto rm = std::make_shared<bool>(false);
  auto tty = std::make_shared<bool>(false);
  sub->add_flag("--rm", *rm, "Delete the sandbox's state (disk, logs) when the command ends");
  sub->add_option("-e,--env", o->env, "Set an environment variable (KEY=VALUE, or KEY to pass ours)")
      ->allow_extra_args(false)
      ->type_name("KEY=VALUE");
  sub->add_option("-w,--workdir", o->workdir, "Working directory in the guest")->type_name("PATH");
  sub->add_option("-u,--user", o->user, "User in the guest (name, uid, name:group, uid:gid)")->type_name("USER");
  sub->add_flag("-t,--tty", *tty, "Run on a terminal (raw mode, resize, Ctrl-C goes to the guest process)");
  sub->add_option("--image", o->image, "Image reference to boot instead of the Matchlockfile's")->type_name("REF");
  sub->add_option("--platform", o->platform,
                  "OS/ARCH of the guest: linux/amd64 or linux/arm64 (default: the Matchlockfile's, else the host's)")
      ->type_name("OS/ARCH");
  auto pull = std::make_shared<std::string>("missing");
  sub->add_option("--pull", *pull,
                  "always: re-check the tag at the registry; missing (default): only when not cached; never")
      ->type_name("always|missing|never");
  auto trust = std::make_shared<bool>(false);
  sub->add_flag("--trust", *trust, "Approve the Matchlockfile's network/secret/mount policy without asking (CI)");
  auto frozen = std::make_shared<bool>(false);
  sub->add_flag("--frozen", *frozen,
                "Boot exactly the image Matchlockfile.lock pins; fail (exit 3) if it is missing or stale");
  sub->add_flag("--no-snapshot", o->no_snapshot, "Boot cold: neither resume nor save a memory snapshot");
  auto dry_run = std::make_shared<bool>(false);
  sub->add_flag("--dry-run", *dry_run, "run TASK: print the order the tasks would run in");
  sub->add_option("command", o->command, "A task of the Matchlockfile with its arguments, or a command (after --)")
      ->type_name(k_type_task);
  sub->prefix_command();  // options end at the command: `run ls -la` and `run -- ls -la`
  sub->fallthrough(false);
  sub->callback(
      verb_callback(ctx.exit_code, [&ctx, o, rm, tty, sub, dry_run, trust, pull, frozen]() -> util::Result<int> {
        auto policy = oci::parse_pull_policy(*pull);
        if (!policy) return policy.error();
        o->pull = *policy;
        o->file = ctx.file;
        o->remove = *rm ? engine::Remove::Yes : engine::Remove::No;
        o->tty = *tty ? engine::Tty::Yes : engine::Tty::No;
        o->trust = *trust ? engine::TrustFlag::Granted : engine::TrustFlag::Ask;
        auto rest = sub->remaining();
        o->command.insert(o->command.end(), rest.begin(), rest.end());
        // `run -- CMD...` is always a command; `run TASK -- ARGS` appends ARGS to the task.
        bool command_only = ctx.after_dashdash && o->command.empty() && !ctx.after_dashdash->empty();
        if (ctx.after_dashdash)
          o->command.insert(o->command.end(), ctx.after_dashdash->begin(), ctx.after_dashdash->end());
        // `run TASK [-- ARGS]` (or the `default` task) goes through the sandbox's supervisor.
        if (o->image.empty() && !command_only) {
          if (auto code = try_run_task(ctx, {o->command, o->env, *rm, *dry_run, *trust, *frozen, o->no_snapshot})) return *code;
        }
        if (*dry_run) return util::make_error(util::ErrorCode::Usage, "--dry-run: expected `run TASK`");
        if (*frozen) {
          if (!o->image.empty()) {
            return util::make_error(util::ErrorCode::Usage,
                                    "--frozen pins the Matchlockfile's image; it does not apply to --image");
          }
          auto pin = frozen_pin(ctx, o->platform);
          if (!pin) return pin.error();
          o->frozen_manifest = pin->manifest_digest;
        }
        return engine::run_in_sandbox(ctx.dirs, *o);
      }));
}

}  // namespace cmd
