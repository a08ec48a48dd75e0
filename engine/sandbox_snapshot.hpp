// Memory snapshots in SandboxVm::boot (docs/ARCHITECTURE.md, "Memory snapshots"):
// whether this boot resumes a saved VM, boots cold and saves one, or just boots
// cold (and why), and the two halves of the work: saving a running VM and
// starting a VM from a snapshot. The key is engine/memory_snapshot_key, the
// files engine/memory_snapshot_store.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "backends/kernel_bundle.hpp"
#include "backends/qemu/qemu_host.hpp"
#include "backends/qemu/qemu_vm.hpp"
#include "engine/memory_snapshot_key.hpp"
#include "engine/memory_snapshot_store.hpp"
#include "guest/protocol/client.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

// Off: --no-snapshot, [sandbox] snapshot = false. SaveOnly: boot only to save a snapshot
// that does not exist yet (engine/snapshot_after_up.hpp); never resumes.
enum class SnapshotUse { Auto, Off, SaveOnly };

struct SnapshotChoice {
  enum class Action { Cold, Save, Resume } action = Action::Cold;
  std::string reason;  // Cold: why not ("" when turned off by the user)
  std::string key;
  std::vector<std::string> inputs;         // describe(MemorySnapshotInputs)
  std::optional<MemorySnapshot> snapshot;  // Resume
};

// Why this QEMU cannot save a microvm with our devices, or "" when it can
// (x-ignore-shared needs QEMU 4.0; `matchlock doctor` prints it).
std::string snapshot_unsupported_reason(const backends::qemu::QemuHost& host);

// The inputs of VM's key (its kernel, initramfs, disks, devices, QEMU).
util::Result<MemorySnapshotInputs> snapshot_inputs(const backends::qemu::VmSpec& vm,
                                                   const backends::KernelBundle& kernel,
                                                   const std::filesystem::path& agent,
                                                   const backends::qemu::QemuHost& host,
                                                   const std::vector<std::string>& layer_keys, uint64_t disk_bytes);

// Looks the key up: Resume when a usable snapshot exists, Save when none does
// (an unusable one is reported on stderr in one line, removed, and replaced).
SnapshotChoice choose_snapshot(const util::Dirs& dirs, const MemorySnapshotInputs& inputs, uint64_t ram_bytes);

// Saves VM, whose agent has answered "suspend": QEMU stops and writes its device
// state, RAM (RAM_FD) and the writable disk UPPER are copied, the snapshot is
// published, and QEMU continues — also when saving failed (the error says why).
util::Result<MemorySnapshot> save_snapshot(const util::Dirs& dirs, const SnapshotChoice& choice,
                                           backends::qemu::QemuVm& vm, int ram_fd, const std::filesystem::path& upper,
                                           MemorySnapshot meta);

// A fresh k_resume_entropy_bytes from the host's CSPRNG.
util::Result<std::string> resume_entropy();

}  // namespace engine
