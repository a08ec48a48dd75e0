// `matchlock shell [NAME] [-u USER]`: an interactive login shell in a running sandbox.
#include <unistd.h>

#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/lifecycle.hpp"

namespace cmd {

util::Result<int> exec_in_sandbox(const Context& ctx, const std::string& name, const engine::ExecSpec& spec);

void register_shell(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("shell", "Open a login shell in a running sandbox (bash if present, else sh)");
  auto name = std::make_shared<std::string>();
  auto spec = std::make_shared<engine::ExecSpec>();
  sub->add_option("name", *name, "Sandbox name (default: the Matchlockfile's)")->type_name(k_type_sandbox);
  sub->add_option("-u,--user", spec->user, "User in the guest")->type_name("USER");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, name, spec]() -> util::Result<int> {
    spec->argv = {"sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi"};
    spec->tty = ::isatty(STDIN_FILENO) != 0;
    return exec_in_sandbox(ctx, *name, *spec);
  }));
}

}  // namespace cmd
