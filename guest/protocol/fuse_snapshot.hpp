// Snapshot mounts (mode = "snapshot", docs/workspace.md): the host serves the
// share read-only over FUSE at a hidden guest path and the agent mounts an
// overlay at the target whose upper lives on the sandbox's writable disk, so
// guest writes never reach the host directory.
#pragma once

#include <cstdint>
#include <string>

namespace protocol {

// Where the read-only FUSE share of snapshot mount ID is mounted in the guest.
inline std::string snapshot_share_dir(uint32_t id) { return "/run/ml/share/" + std::to_string(id); }
// The overlay's upper and work directories (on the writable disk, /run/ml/rw
// before and after switch_root).
inline std::string snapshot_upper_dir(uint32_t id) { return "/run/ml/rw/mounts/" + std::to_string(id) + "/upper"; }
inline std::string snapshot_work_dir(uint32_t id) { return "/run/ml/rw/mounts/" + std::to_string(id) + "/work"; }

}  // namespace protocol
