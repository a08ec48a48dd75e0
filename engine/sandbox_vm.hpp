// SandboxVm: one booted microVM with its agent session. Owns the VMM (killed and
// reaped on every path: QEMU, or Virtualization.framework on macOS, behind backends::Vm),
// the control Client and the files in its state dir (upper.ext4, console.log, qemu.log, ctl.sock). `matchlock run` boots one,
// execs, shuts it down; the supervisor of a later issue owns one the same way.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/kernel_bundle.hpp"
#include "backends/qemu/accel_probe.hpp"
#include "backends/qemu/qemu_vm.hpp"
#include "backends/vm.hpp"
#include "engine/backend_choice.hpp"
#include "engine/clock_sync.hpp"
#include "engine/sandbox_snapshot.hpp"
#include "engine/workspace_mounts.hpp"
#include "guest/protocol/client.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

class SandboxNet;

struct SandboxSpec {
  backends::GuestArch arch = backends::host_arch();  // from the image platform (engine/guest_platform.hpp)
  Vmm vmm = host_default_vmm();                      // sandbox.backend resolved (engine/backend_choice.hpp)
  std::filesystem::path image;                       // image ext4, attached read-only (shared by every sandbox of it)
  int cpus = 1;
  uint64_t memory_bytes = 512ull << 20;
  uint64_t disk_bytes = 8ull << 30;  // the sparse writable disk
  std::string hostname = "matchlock";
  std::filesystem::path kernel;  // [sandbox].kernel = PATH (must be for `arch`); empty: the installed bundle for `arch`
  // Cached task layer disks (engine/layer_store.hpp), topmost first: attached read-only
  // and stacked above the image; each contributes its `upper/` directory.
  std::vector<std::filesystem::path> layers;
  std::filesystem::path bench_9p_dir;  // bench/workspace only ($MATCHLOCK_BENCH_9P): a virtio-9p share, tag "bench9p"
  SandboxNet* network = nullptr;       // borrowed (engine/sandbox_net.hpp), outlives the VM; null: no NIC
  std::vector<WorkspaceMount> mounts;  // FUSE shares, mounted before boot() returns (engine/workspace_mounts.hpp)
  std::string mount_owner;             // guest user that owns the shares' files ("" = root)
  // Memory snapshots (engine/sandbox_snapshot.hpp): Auto resumes a saved VM of the same
  // key, or boots cold and saves one right after the agent's boot; Off always boots cold.
  SnapshotUse snapshot = SnapshotUse::Auto;
  std::string snapshot_origin;  // the Matchlockfile (or image) saving it: gc keeps the newest per origin
};

// Timing of the boot in milliseconds since SandboxVm::boot was called.
struct BootTimes {
  int64_t vmm_started = 0;
  int64_t connected = 0;  // agent said hello
  int64_t ready = 0;      // root mounted, Ready received
};

// What happened about memory snapshots on this boot.
struct SnapshotOutcome {
  // Present: SnapshotUse::SaveOnly found the snapshot already saved, and booted nothing.
  enum class Kind { Cold, Saved, Resumed, Present } kind = Kind::Cold;
  std::string key;
  std::string note;              // Cold: why not saved/resumed ("" when off); Saved: size; Resumed: key
  std::string describe() const;  // "resumed from memory snapshot 1a2b3c4d5e6f", ...
};

class SandboxVm {
 public:
  // STATE_DIR must exist and be private to this sandbox. With SnapshotUse::SaveOnly the
  // VM boots only when it can save a snapshot that does not exist yet; otherwise nothing
  // runs (booted() is false) and snapshot() says why.
  static util::Result<SandboxVm> boot(const util::Dirs& dirs, const SandboxSpec& spec,
                                      const std::filesystem::path& state_dir);
  SandboxVm(SandboxVm&&) noexcept = default;
  SandboxVm& operator=(SandboxVm&&) noexcept = default;
  ~SandboxVm();

  util::Result<protocol::ExecResult> exec(const protocol::ExecRequest& request, const protocol::ExecIo& io);
  // Asks the agent to power off, waits for QEMU to exit, kills it after TIMEOUT.
  util::Result<void> shutdown(std::chrono::milliseconds timeout);

  bool booted() const { return m_client != nullptr; }
  protocol::Client& client() { return *m_client; }
  const protocol::BootInfo& boot_info() const { return m_boot_info; }
  const backends::qemu::AccelChoice& accel() const { return m_accel; }  // QEMU only
  // "kvm" or "tcg" (QEMU), "vz" (Virtualization.framework: the Mac's hypervisor, always).
  std::string accel_name() const;
  const BootTimes& times() const { return m_times; }
  const SnapshotOutcome& snapshot() const { return m_snapshot; }
  const backends::KernelBundle& kernel() const { return m_kernel; }
  // Non-empty once the VMM says the guest has ended (QEMU exited; VZ: guest stop, error,
  // network attachment lost): its exit status and diagnosis. Never blocks.
  std::string vmm_ended();
  // Adds the console/QEMU diagnosis to ERROR (used when the guest fails).
  util::Error explain(util::Error error) const;

 private:
  SandboxVm() = default;
  util::Result<void> save_and_resume(const util::Dirs& dirs, const SnapshotChoice& snap, const SandboxSpec& spec,
                                     const std::filesystem::path& upper,
                                     const std::vector<protocol::MountSpec>& mounts);
  util::Result<void> resume_from(const MemorySnapshot& snapshot, backends::qemu::VmSpec vm, const SandboxSpec& spec,
                                 const std::vector<protocol::MountSpec>& mounts,
                                 std::chrono::steady_clock::time_point t0);
  backends::KernelBundle m_kernel;
  util::Result<backends::qemu::QemuHost> prepare_qemu(const util::Dirs& dirs, const SandboxSpec& spec,
                                                      const std::filesystem::path& initramfs);
  util::Result<void> start_qemu(backends::qemu::VmSpec vm);
  util::Result<void> start_vz(const SandboxSpec& spec, const std::filesystem::path& initramfs,
                              const std::filesystem::path& state_dir, const backends::qemu::VmSpec& vm);
  Vmm m_vmm = Vmm::Qemu;
  backends::qemu::AccelChoice m_accel;
  std::unique_ptr<backends::Vm> m_vm;
  backends::qemu::QemuVm* m_qemu = nullptr;  // m_vm when the VMM is QEMU (memory snapshots need QMP)
  // poll_exit from the supervisor's loop (vmm_ended) and from exec threads (explain).
  std::unique_ptr<std::mutex> m_vm_mutex = std::make_unique<std::mutex>();
  std::unique_ptr<protocol::Client> m_client;
  std::unique_ptr<ClockSync> m_clock;         // stopped before m_client is closed
  std::unique_ptr<WorkspaceMounts> m_mounts;  // threads end once m_client is closed (~SandboxVm, shutdown)
  protocol::BootInfo m_boot_info;
  BootTimes m_times;
  SnapshotOutcome m_snapshot;
  util::Fd m_ram;  // guest RAM of a VM that saves a snapshot (VmSpec::ram_fd)
};

// Creates the sparse writable ext4 disk of SIZE bytes at PATH (mke2fs).
util::Result<void> create_upper_disk(const std::filesystem::path& path, uint64_t size);

}  // namespace engine
