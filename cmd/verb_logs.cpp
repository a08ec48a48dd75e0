// `matchlock logs [NAME] [-f] [--console]`: the supervisor log (boot, execs,
// exit codes) or the guest console.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/lifecycle.hpp"
#include "util/fd.hpp"
#include "util/terminal_text.hpp"

namespace cmd {

void register_logs(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("logs", "Show a sandbox's log (supervisor events) or its guest console");
  auto name = std::make_shared<std::string>();
  auto follow = std::make_shared<bool>(false);
  auto console = std::make_shared<bool>(false);
  sub->add_option("name", *name, "Sandbox name (default: the Matchlockfile's)")->type_name(k_type_sandbox);
  sub->add_flag("-f,--follow", *follow, "Keep printing as the log grows, until the sandbox stops");
  auto raw = std::make_shared<bool>(false);
  sub->add_flag("--console", *console, "The guest's serial console instead");
  sub->add_flag("--raw", *raw, "Print the bytes as written (by default control characters are shown escaped)");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, name, follow, console, raw]() -> util::Result<int> {
    if (name->empty()) {
      auto target = engine::resolve_target(ctx.file, "");
      if (!target) return target.error();
      *name = target->name;
    }
    auto record = engine::sandbox_status(ctx.dirs, *name);
    if (!record) return record.error();
    auto paths = engine::sandbox_paths(ctx.dirs, *name);
    auto path = *console ? paths.console() : paths.log();
    auto fd = util::open_fd(path, O_RDONLY | O_CLOEXEC);
    if (!fd) return fd.error();
    char buf[65536];
    // The console and exec lines carry guest output: escaped for the terminal unless --raw.
    util::TerminalTextStream text(util::Newlines::Keep);
    auto emit = [&](std::string_view bytes) {
      return util::write_all(STDOUT_FILENO, *raw ? std::string(bytes) : text.feed(bytes));
    };
    while (true) {
      ssize_t n = util::retry_eintr([&] { return ::read(fd->get(), buf, sizeof buf); });
      if (n > 0) {
        if (!emit(std::string_view(buf, static_cast<size_t>(n)))) return k_exit_ok;
        continue;
      }
      if (n < 0 || !*follow) {
        if (!*raw) (void)util::write_all(STDOUT_FILENO, text.finish());
        return k_exit_ok;
      }
      if (!engine::supervisor_alive(*record)) {
        if (!*raw) (void)util::write_all(STDOUT_FILENO, text.finish());
        return k_exit_ok;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return k_exit_ok;
  }));
}

}  // namespace cmd
