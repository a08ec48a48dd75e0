// `matchlock __supervise --name N --file F`: the hidden per-sandbox supervisor
// daemon that `matchlock up` starts (engine/supervisor.hpp).
#include <unistd.h>

#include <cstdio>

#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/supervisor.hpp"

namespace cmd {

void register_supervise(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("__supervise", "The per-sandbox supervisor (started by `up`)");
  sub->group("");  // hidden from --help, the man page and completion
  auto o = std::make_shared<engine::SuperviseOptions>();
  sub->add_option("--name", o->name)->required();
  sub->add_option("--file", o->file)->required();
  sub->add_flag("--no-snapshot", o->no_snapshot);
  sub->callback(verb_callback(ctx.exit_code, [&ctx, o]() -> util::Result<int> {
    auto r = engine::run_supervisor(ctx.dirs, *o);
    int code = r ? *r : report(r.error());
    std::fflush(nullptr);
    // Exec handlers may still be unwinding on detached threads: leave at once.
    ::_exit(code);
    return k_exit_ok;
  }));
}

}  // namespace cmd
