// `matchlock exec [NAME] [-t] [-e K=V] [-w DIR] [-u USER] -- CMD...`: run a
// command in a running sandbox (through its supervisor) with our stdio.
#include <unistd.h>

#include <optional>

#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/exec_env.hpp"
#include "engine/lifecycle.hpp"
#include "engine/run_tty.hpp"

namespace cmd {

namespace {

// The sandbox NAME, or the Matchlockfile's.
util::Result<std::string> name_or_default(const Context& ctx, const std::string& name) {
  if (!name.empty()) return name;
  auto target = ML_TRY(engine::resolve_target(ctx.file, ""));
  return target.name;
}

}  // namespace

// Runs SPEC in sandbox NAME (empty: the Matchlockfile's); with a tty our terminal is raw meanwhile.
util::Result<int> exec_in_sandbox(const Context& ctx, const std::string& name, const engine::ExecSpec& spec) {
  std::string sandbox = ML_TRY(name_or_default(ctx, name));
  std::optional<engine::RawTerminal> raw;
  if (spec.tty) raw.emplace(ML_TRY(engine::RawTerminal::enter(STDIN_FILENO)));
  return engine::exec_in(ctx.dirs, sandbox, spec);
}

void register_exec(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("exec", "Run a command in a running sandbox: exec [NAME] [options] -- CMD...");
  auto spec = std::make_shared<engine::ExecSpec>();
  auto env = std::make_shared<std::vector<std::string>>();
  auto tty = std::make_shared<bool>(false);
  sub->add_option("-e,--env", *env, "Set an environment variable (KEY=VALUE, or KEY to pass ours)")
      ->allow_extra_args(false)
      ->type_name("KEY=VALUE");
  sub->add_option("-w,--workdir", spec->cwd, "Working directory in the guest")->type_name("PATH");
  sub->add_option("-u,--user", spec->user, "User in the guest (name, uid, name:group, uid:gid)")->type_name("USER");
  sub->add_flag("-t,--tty", *tty, "Run on a terminal (raw mode)");
  auto first = std::make_shared<std::string>();
  auto words = std::make_shared<std::vector<std::string>>();
  sub->add_option("name", *first, "Sandbox name (optional; default: the Matchlockfile's)")->type_name(k_type_sandbox);
  sub->add_option("command", *words, "Command and arguments (after --)")->type_name("CMD");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, spec, env, tty, first, words]() -> util::Result<int> {
    // With `--` (split off by main.cpp), a word before it is the NAME. Without,
    // the first word is a NAME only when such a sandbox exists and a command follows it.
    std::string name;
    if (ctx.after_dashdash) {
      if (!words->empty()) {
        return util::make_error(util::ErrorCode::Usage, "exec: expected exec [NAME] [options] -- CMD...");
      }
      name = *first;
      spec->argv = *ctx.after_dashdash;
    } else if (!words->empty() && engine::sandbox_status(ctx.dirs, *first)) {
      name = *first;
      spec->argv = *words;
    } else {
      spec->argv = *words;
      if (!first->empty()) spec->argv.insert(spec->argv.begin(), *first);
    }
    if (spec->argv.empty()) {
      return util::make_error(util::ErrorCode::Usage, "exec: no command given (exec [NAME] -- CMD...)");
    }
    auto e = engine::resolve_env_flags(*env);
    if (!e) return e.error();
    spec->env = *e;
    spec->tty = *tty;
    return exec_in_sandbox(ctx, name, *spec);
  }));
}

}  // namespace cmd
