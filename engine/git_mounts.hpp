// Git-mode mounts (docs/workspace-git.md) on the engine side. A sandbox's state
// dir holds, per git mount:
//   git/<key>/         the clone the guest works in (served instead of the source)
//   git/<key>.json     {"repo": SOURCE, "target": TARGET}, written by the host
//                      outside the served tree, so the guest cannot redirect
//                      where its branches are fetched to.
// <key> is the mount target with '/' turned into '_' ("/workspace" -> "workspace").
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"
#include "util/result.hpp"
#include "workspace/git_fetch.hpp"

namespace engine {

// The directory to serve for MOUNT: its source, or for MountMode::Git the
// clone in STATE_DIR (created on first use, reused while it exists).
util::Result<std::filesystem::path> git_mount_source(const Mount& mount, const std::filesystem::path& state_dir,
                                                     std::string_view sandbox);

struct GitFetchReport {
  std::filesystem::path repo;                    // the user's repository
  std::string target;                            // the guest mount point
  std::filesystem::path clone;                   // in the state dir
  std::vector<workspace::BranchUpdate> updates;  // changed refs only
  std::string error;                             // non-empty: this mount failed (others were still tried)
};

// Fetches every git mount of the sandbox whose state dir is STATE_DIR into its
// repository as matchlock/<SANDBOX>/<branch>. Needs no supervisor. Empty when
// the sandbox has no git mounts.
util::Result<std::vector<GitFetchReport>> fetch_git_mounts(const std::filesystem::path& state_dir,
                                                           std::string_view sandbox);

// Deletes the clones of STATE_DIR (after a successful fetch on `down`).
util::Result<void> remove_git_clones(const std::filesystem::path& state_dir);

// One line per report for the CLI: "REPO: matchlock/sb/main 1a2b3c4 -> 5d6e7f8".
std::vector<std::string> describe_fetch(const std::vector<GitFetchReport>& reports);

}  // namespace engine
