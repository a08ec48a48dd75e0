// The memory snapshot after a sandbox's `up` tasks (docs/ARCHITECTURE.md, "Memory
// snapshots"). Once `up` has captured the last cached task layer of its prefix, the next
// `up` or `run` of the same Matchlockfile boots with those layers attached, skips the
// tasks, and looks for a snapshot keyed by them. The sandbox that ran the tasks cannot be
// saved under that key: its disks are the older layers plus a writable disk the tasks
// filled, and its mounts, processes and connections are its own. So its supervisor boots a
// second VM exactly as that next boot would (the same layers and devices, a NIC with
// nothing behind it, no mounts, no secrets), saves it right after the agent's boot and
// powers it off. The next `up` resumes it instead of booting cold.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "engine/sandbox_vm.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

struct AfterUpSnapshot {
  SnapshotOutcome outcome;  // Saved, Present (nothing booted), or Cold with the reason
  int64_t ms = 0;
};

// Boots SPEC (the sandbox's own) with LAYERS attached (topmost first) in place of its
// layers, without mounts, with a NIC offline like SPEC's network, in a temporary state
// directory under WORK_DIR; saves its memory snapshot unless that key is already saved;
// powers it off.
util::Result<AfterUpSnapshot> save_after_up_snapshot(const util::Dirs& dirs, SandboxSpec spec,
                                                     std::vector<std::filesystem::path> layers,
                                                     const std::filesystem::path& work_dir);

}  // namespace engine
