// The CLI side of sandbox lifecycle: start a supervisor (`up`), talk to it
// over its socket (exec, status, shutdown), stop and remove sandboxes, and run
// tasks in dependency order. The supervisor itself is engine/supervisor.hpp.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/sandbox_state.hpp"
#include "engine/trust.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

enum class Recreate { No, Yes };
enum class KeepDisk { No, Yes };

// A Matchlockfile and the sandbox name it maps to.
struct SandboxTarget {
  Config config;
  std::string name;
  TrustFlag trust = TrustFlag::Ask;  // --trust: approve the policy without asking (engine/trust.hpp)
  bool no_snapshot = false;          // --no-snapshot: boot cold, save no memory snapshot
};
// FILE: the -f value (may be empty: discover from the current directory). NAME: --name (empty: config.name).
util::Result<SandboxTarget> resolve_target(const std::string& file, const std::string& name);

struct UpResult {
  SandboxRecord record;
  bool booted = false;  // false: it was already running
  int64_t up_ms = 0;    // wall time of this call until ready
};
// Boots the sandbox in the background unless it already runs with the same
// Matchlockfile (a changed file is a Config error listing the change, unless RECREATE).
util::Result<UpResult> ensure_up(const util::Dirs& dirs, const SandboxTarget& target, Recreate recreate);

// `up --dry-run`: the steps `up` would take, one per line.
std::vector<std::string> up_plan(const util::Dirs& dirs, const SandboxTarget& target);

struct ExecSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env;  // applied over image < [sandbox.env]
  std::string cwd;
  std::string user;
  bool tty = false;
  int stdout_fd = 1;  // where the command's stdout goes (stdin/stderr are ours)
};
// Runs a command in the running sandbox NAME with our stdin/stdout/stderr; returns its exit code.
util::Result<int> exec_in(const util::Dirs& dirs, const std::string& name, const ExecSpec& spec);

// The record with a live status from the supervisor when it answers.
util::Result<SandboxRecord> sandbox_status(const util::Dirs& dirs, const std::string& name);

// Stops NAME (graceful guest shutdown, then kill after TIMEOUT); removes the writable disk unless KEEP.
util::Result<void> stop_sandbox(const util::Dirs& dirs, const std::string& name, KeepDisk keep,
                                std::chrono::seconds timeout);
// Removes a stopped (or dead) sandbox's state dir; a running one is an error.
util::Result<void> remove_sandbox(const util::Dirs& dirs, const std::string& name);

// Runs ORDER (task names, dependencies first) in the sandbox, stopping at the
// first failure with its code. ARGS go to the last task; EXTRA_ENV (-e) wins over task env.
util::Result<int> run_task_chain(const util::Dirs& dirs, const SandboxTarget& target,
                                 const std::vector<std::string>& order, const std::vector<std::string>& args,
                                 const std::vector<std::string>& extra_env, int stdout_fd = 1);
// The `up` chain of a freshly booted sandbox: like run_task_chain, but tasks in
// RECORD.cached_tasks are skipped (a cached layer holds their changes) and after each
// task in RECORD.capture_tasks succeeds the supervisor captures its layer.
util::Result<int> run_up_tasks(const util::Dirs& dirs, const SandboxTarget& target,
                               const std::vector<std::string>& order, const SandboxRecord& record, int stdout_fd = 1);
// The tasks of every `up` entry in order, dependencies first, each once.
util::Result<std::vector<std::string>> up_task_order(const Config& config);

}  // namespace engine
