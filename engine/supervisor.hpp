// The per-sandbox supervisor: a daemon (own session, started by `matchlock up`
// as the hidden verb `matchlock __supervise`) that owns the VMM and the guest
// agent session, forwards [[ports]], and serves CLI clients on
// <state>/sandboxes/<name>/supervisor.sock (API: docs/protocol.md). QEMU dies
// with it (PR_SET_PDEATHSIG), so a killed supervisor leaves no VM behind.
#pragma once

#include <string>

#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

struct SuperviseOptions {
  std::string name;          // sandbox name (state dir)
  std::string file;          // the Matchlockfile, absolute
  bool no_snapshot = false;  // up --no-snapshot
};

// Boots the sandbox, writes sandbox.json, serves until a `shutdown` request,
// SIGTERM/SIGINT or the guest's exit. Returns 0 after a clean stop.
util::Result<int> run_supervisor(const util::Dirs& dirs, const SuperviseOptions& options);

}  // namespace engine
