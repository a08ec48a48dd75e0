// `matchlock completion bash|zsh|fish`: the shell's completion script.
// `matchlock man`: the manual page in roff (`matchlock man | man -l -`).
// `matchlock __complete WORD...` (hidden; main.cpp answers it before parsing):
// the candidates for the last word (cmd/complete.hpp).
#include <cstdio>

#include "cmd/complete.hpp"
#include "cmd/completion_scripts.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/man_page.hpp"
#include "cmd/verbs.hpp"

namespace cmd {

void register_completion(CLI::App& app, Context& ctx) {
  auto* sub =
      app.add_subcommand("completion", "Print the shell completion script (bash: source <(matchlock completion bash))");
  auto shell = std::make_shared<std::string>();
  sub->add_option("shell", *shell, "The shell")->required()->type_name(k_completion_shells);
  sub->callback(verb_callback(ctx.exit_code, [&ctx, shell]() -> util::Result<int> {
    auto script = completion_script(*shell);
    if (!script)
      return util::make_error(util::ErrorCode::Usage,
                              "no completion for shell \"" + *shell + "\" (choose " + k_completion_shells + ")");
    std::fwrite(script->data(), 1, script->size(), stdout);
    return k_exit_ok;
  }));
}

void register_man(CLI::App& app, Context&) {
  auto* sub = app.add_subcommand("man", "Print the manual page (roff; view it with: matchlock man | man -l -)");
  sub->callback([&app] {
    std::string page = man_page(app);
    std::fwrite(page.data(), 1, page.size(), stdout);
  });
}

int run_complete(const CLI::App& app, const Context& ctx, const std::vector<std::string>& words) {
  std::string out = format_completion(complete_words(app, ctx.dirs, words));
  std::fwrite(out.data(), 1, out.size(), stdout);
  return k_exit_ok;
}

}  // namespace cmd
