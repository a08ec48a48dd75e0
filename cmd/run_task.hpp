// `matchlock run TASK [-- ARGS]`: when the first word of `run` names a task of
// the Matchlockfile (or no command is given and it has a `default` task), the
// task and its `needs` run in the sandbox's supervisor, booting it if needed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cmd/context.hpp"

namespace cmd {

struct RunTaskRequest {
  std::vector<std::string> words;  // what followed `run` (options removed)
  std::vector<std::string> env;    // -e
  bool remove = false;             // --rm: `down` + `rm` after the task
  bool dry_run = false;            // print the order only
  bool trust = false;              // --trust: approve the Matchlockfile's policy without asking
  bool frozen = false;             // --frozen: the sandbox must run the image Matchlockfile.lock pins
  bool no_snapshot = false;        // --no-snapshot: a sandbox this call boots boots cold, saves no snapshot
};

// The exit code when WORDS name a task; nullopt when this is a plain command
// (no Matchlockfile, or no such task) for `run -- CMD`.
std::optional<int> try_run_task(Context& ctx, const RunTaskRequest& request);

}  // namespace cmd
