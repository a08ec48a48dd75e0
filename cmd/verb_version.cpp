#include <cstdio>

#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/version.hpp"

namespace cmd {

void register_version(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("version", "Print matchlock's version and supported Matchlockfile versions");
  sub->callback(verb_callback(ctx.exit_code, [&ctx]() -> util::Result<int> {
    std::printf("matchlock %s\nMatchlockfile versions: 1\nguest protocol: %d\n", engine::k_version,
                engine::k_protocol_version);
    return 0;
  }));
}

}  // namespace cmd
