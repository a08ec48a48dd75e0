// matchlock config [--json]: the fully resolved Matchlockfile with every
// default filled in. Secrets are shown by reference; their values are never read.
#include <cstdio>
#include <filesystem>

#include "cmd/config_print.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/config_parse.hpp"
#include "engine/discover.hpp"
#include "engine/machine_policy.hpp"

namespace cmd {

void register_config(CLI::App& app, Context& ctx) {
  auto json = std::make_shared<bool>(false);
  auto* sub =
      app.add_subcommand("config", "Print the resolved Matchlockfile (defaults filled in, secrets by reference)");
  sub->add_flag("--json", *json, "Print one JSON object");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, json]() -> util::Result<int> {
    auto found = engine::discover_matchlockfile(ctx.file, std::filesystem::current_path());
    if (!found) return found.error();
    auto config = engine::load_config(*found);
    if (config) {
      // The machine's policy.toml: violations fail like file errors; effects are shown.
      if (auto bounded = engine::bound_by_machine_policy(ctx.dirs, *config); !bounded)
        config = std::move(bounded).error();
    }
    if (!config) {
      if (config.error().code() != util::ErrorCode::Config) return config.error();
      std::fprintf(stderr, "%s\n", config.error().message().c_str());  // already FILE:LINE:COL lines
      return k_exit_usage;
    }
    if (*json)
      std::printf("%s\n", config_to_json(*config).dump(2).c_str());
    else
      std::fputs(config_to_text(*config).c_str(), stdout);
    return k_exit_ok;
  }));
}

}  // namespace cmd
