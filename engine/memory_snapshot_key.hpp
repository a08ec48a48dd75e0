// The key of a memory snapshot (docs/ARCHITECTURE.md, "Memory snapshots"): a
// saved VM may only be resumed by a sandbox that would have booted into exactly
// the same guest state, on the same virtual hardware and the same QEMU. Every
// field below changes the key; a stale snapshot is never found, never resumed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace engine {

// Bumped when what a snapshot holds or how it is resumed changes.
inline constexpr int k_memory_snapshot_format = 1;

struct MemorySnapshotInputs {
  std::string rootfs_sha256;        // the image's rootfs (engine/task_layers rootfs_sha256)
  std::vector<std::string> layers;  // cached task layer keys attached, topmost first
  std::string kernel_sha256;        // vmlinuz
  std::string initramfs_sha256;     // modules + agent as the guest loads them
  std::string agent_sha256;         // the agent binary
  std::string arch;                 // "amd64"
  std::string machine;              // -M value and -cpu
  std::string accel;                // "kvm" or "tcg"
  int cpus = 1;
  uint64_t memory_mib = 0;   // what QEMU is given (guest_memory_mib)
  uint64_t disk_bytes = 0;   // the writable disk
  std::string devices;       // the device set, e.g. "blk:ml-image,ml-upper;net;ctl"
  std::string qemu_version;  // first line of `qemu --version`
  std::string firmware;      // -bios file and its sha256
  std::string cmdline;       // the kernel command line
};

// "name=value" lines, one per input, in a fixed order (stored in the snapshot's meta.json).
std::vector<std::string> describe(const MemorySnapshotInputs& inputs);
// sha256 (hex) over k_memory_snapshot_format and describe(INPUTS).
std::string memory_snapshot_key(const MemorySnapshotInputs& inputs);

}  // namespace engine
