// `matchlock run`: boot a sandbox for the Matchlockfile (or --image), run one
// command with the caller's stdio and return its exit code (126 not
// executable, 127 not found, 128+N killed by signal N).
#pragma once

#include <string>
#include <vector>

#include "engine/trust.hpp"
#include "oci/pull.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

enum class Tty { No, Yes };
enum class Remove { No, Yes };

struct RunOptions {
  std::string file;                  // -f: explicit Matchlockfile
  std::string image;                 // --image REF: overrides [sandbox].image (no Matchlockfile needed)
  std::string platform;              // --platform OS/ARCH: overrides [sandbox].platform (default: the host's)
  std::vector<std::string> command;  // empty: the image's Entrypoint + Cmd
  std::vector<std::string> env;      // -e K=V (or K: taken from our environment)
  std::string workdir;               // -w
  std::string user;                  // -u
  Tty tty = Tty::No;                 // -t
  Remove remove = Remove::No;        // --rm: delete the sandbox's state dir afterwards
  TrustFlag trust = TrustFlag::Ask;  // --trust: approve the Matchlockfile's policy without asking
  oci::PullPolicy pull = oci::PullPolicy::Missing;  // --pull=always|missing|never
  bool no_snapshot = false;                         // --no-snapshot: boot cold, save no memory snapshot
  std::string frozen_manifest;  // --frozen: the manifest Matchlockfile.lock pins (else ErrorCode::Frozen before boot)
};

util::Result<int> run_in_sandbox(const util::Dirs& dirs, const RunOptions& options);

}  // namespace engine
