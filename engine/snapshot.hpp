// Snapshot mounts after boot (docs/workspace.md): what the guest changed in
// each mode = "snapshot" mount, and bringing those changes out. The guest
// lists its overlay's upper directory on a "snapshot-list" channel
// (guest/protocol/fuse_snapshot.cpp); the host classifies each entry against
// the share (A added, M modified, D deleted) and fetches contents through the
// guest's merged view (get_file on TARGET/PATH). Runs in the supervisor
// (ops "diff" and "export", docs/protocol.md); the CLI asks it over the socket.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/workspace_mounts.hpp"
#include "guest/protocol/client.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

enum class ChangeKind { Added, Modified, Deleted };

struct SnapshotChange {
  ChangeKind kind = ChangeKind::Added;
  std::string path;         // relative to the mount, '/'-separated, no '.' or '..'
  std::string type;         // file | dir | symlink | other (Deleted: what the share had)
  uint32_t mode = 0;        // permission bits in the guest
  std::string link_target;  // symlinks
};

struct SnapshotDiff {
  uint32_t id = 0;  // the mount id (its index in the sandbox's mounts)
  std::string target;
  std::filesystem::path source;
  std::vector<SnapshotChange> changes;  // parents before children
};

char change_letter(ChangeKind kind);

// Classifies the guest's upper-dir listing LINES (JSON lines) against SOURCE.
// Rejects unsafe paths (absolute, '..', empty components).
util::Result<std::vector<SnapshotChange>> classify_snapshot(const std::string& lines,
                                                            const std::filesystem::path& source);

// The changes of every snapshot mount in MOUNTS (empty: none).
util::Result<std::vector<SnapshotDiff>> snapshot_diffs(protocol::Client& client,
                                                       const std::vector<WorkspaceMount>& mounts);

// Applies DIFF to directory TO (created if missing): writes added/modified
// files, directories and symlinks with the guest's contents and modes, and
// deletes deleted paths. Never follows a symlink inside TO.
util::Result<void> export_snapshot(protocol::Client& client, const SnapshotDiff& diff, const std::filesystem::path& to);

// Writes a unified diff (diff -ruN, paths a/... b/..., apply with patch -p1 in
// a copy of the share) of DIFF to FILE.
util::Result<void> write_snapshot_patch(protocol::Client& client, const SnapshotDiff& diff,
                                        const std::filesystem::path& file);

nlohmann::json snapshot_diff_to_json(const SnapshotDiff& diff);

// CLI side: sends REQUEST ({"op":"diff"} or {"op":"export",...}) to sandbox
// NAME's supervisor. Clear errors when it does not exist or is not running.
util::Result<nlohmann::json> snapshot_request(const util::Dirs& dirs, const std::string& name,
                                              const nlohmann::json& request);

}  // namespace engine
