// `matchlock run [--rm] [-e K=V] [-w DIR] [-u USER] [-t] [--image REF] [-- CMD...]`
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/run.hpp"

namespace cmd {

void register_run(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("run", "Boot a sandbox and run a command in it (default: the image's Entrypoint + Cmd)");
  auto o = std::make_shared<engine::RunOptions>();
  auto rm = std::make_shared<bool>(false);
  auto tty = std::make_shared<bool>(false);
  sub->add_flag("--rm", *rm, "Delete the sandbox's state (disk, logs) when the command ends");
  sub->add_option("-e,--env", o->env, "Set an environment variable (KEY=VALUE, or KEY to pass ours)")->allow_extra_args(false);
  sub->add_option("-w,--workdir", o->workdir, "Working directory in the guest");
  sub->add_option("-u,--user", o->user, "User in the guest (name, uid, name:group, uid:gid)");
  sub->add_flag("-t,--tty", *tty, "Run on a terminal (raw mode, resize, Ctrl-C goes to the guest process)");
  sub->add_option("--image", o->image, "Image reference to boot instead of the Matchlockfile's");
  sub->add_option("command", o->command, "Command and arguments (after --)");
  sub->prefix_command();  // options end at the command: `run ls -la` and `run -- ls -la`
  sub->fallthrough(false);
  sub->callback([&ctx, o, rm, tty, sub] {
    o->file = ctx.file;
    o->remove = *rm ? engine::Remove::Yes : engine::Remove::No;
    o->tty = *tty ? engine::Tty::Yes : engine::Tty::No;
    auto rest = sub->remaining();
    if (!rest.empty() && rest.back() == "--") rest.pop_back();  // CLI11 appends the separator it saw
    o->command.insert(o->command.end(), rest.begin(), rest.end());
    auto r = engine::run_in_sandbox(ctx.dirs, *o);
    ctx.exit_code = r ? *r : report(r.error());
  });
}

}  // namespace cmd
