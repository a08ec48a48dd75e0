// QemuVm: one QEMU process (x86-64 microvm or arm64 virt: machine.hpp) and the files it uses in the sandbox's
// state dir (console.log, qemu.log, ctl.sock). The VMM is a util::Child: it is
// killed and reaped on every path (destructor, error, signal), and dies with us.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "backends/guest_arch.hpp"
#include "backends/qemu/console_log.hpp"
#include "backends/qemu/machine.hpp"
#include "backends/qemu/qmp.hpp"
#include "backends/qemu/qemu_host.hpp"
#include "backends/vm.hpp"
#include "util/fd.hpp"
#include "util/process.hpp"
#include "util/result.hpp"

namespace backends::qemu {

enum class Accel { Kvm, Tcg };
enum class DiskAccess { ReadOnly, ReadWrite };
enum class ControlPort { None, VirtioSerial };
// How the NIC's frames cross net_fd: QEMU's `-netdev stream` (a 4-byte length before each
// frame, the default) or `-netdev dgram` (one frame per datagram: what Virtualization.framework's
// file-handle NIC speaks, so that path is exercised on Linux too).
enum class NetFraming { Stream, Datagram };

const char* to_string(Accel accel);

struct Disk {
  std::filesystem::path path;  // raw image
  std::string serial;          // the guest finds it by /sys/block/vd*/serial ("ml-image")
  DiskAccess access = DiskAccess::ReadOnly;
};

// A virtio-fs device served by our own vhost-user backend
// (backends/vhost/vhost_user_device.hpp) on a connected socket.
struct VhostUserFs {
  int fd = -1;      // borrowed: our socket end for QEMU, kept open until start() returns
  std::string tag;  // the guest mounts it with `mount -t virtiofs TAG DIR`
};

struct VmSpec {
  GuestArch arch = host_arch();  // picks the QEMU binary and machine (machine.hpp)
  std::filesystem::path kernel;
  std::filesystem::path initramfs;
  std::string extra_cmdline;  // appended to k_base_cmdline
  Accel accel = Accel::Tcg;
  int cpus = 1;
  uint64_t memory_mib = 512;
  std::vector<Disk> disks;
  ControlPort control = ControlPort::VirtioSerial;
  // The NIC: one end of a connected stream socket (borrowed; the caller keeps it
  // open until start() returns) carrying QEMU's `-netdev stream` framing. -1: no NIC.
  int net_fd = -1;
  NetFraming net_framing = NetFraming::Stream;  // a SOCK_STREAM or SOCK_DGRAM socketpair end
  std::string net_mac = "52:54:00:6d:6c:02";
  std::filesystem::path state_dir;  // must exist; QEMU runs with it as cwd
  // The serial console: our end of a socket for `-chardev socket,fd=` (ConsoleLog, set by
  // QemuVm::start), or -1 for QEMU's own file chardev (k_console_log, unbounded).
  int console_fd = -1;
  // bench/workspace only: DIR shared by QEMU's virtio-9p (mount_tag k_bench_9p_tag,
  // security_model=none) as the baseline our FUSE share is measured against. Empty: none.
  std::filesystem::path bench_9p_dir;
  // virtio-fs shares. Any of them puts guest RAM in a shared memfd (the
  // backend maps it) instead of QEMU's private memory.
  std::vector<VhostUserFs> vhost_fs;
  // The microvm firmware (qemu_host.hpp). Unset: QemuVm::start asks the QEMU it runs.
  // The RAM given to QEMU is guest_memory_mib(memory_mib, firmware kind).
  std::optional<Firmware> firmware;
  // The QEMU, when the caller probed it already (probe_qemu_host); unset: start() probes.
  std::optional<QemuHost> host;
  // TCG only: the guest TSC's rate in kHz (tsc_early_khz=). 0: QemuVm::start measures
  // it (tcg_guest_tsc_khz); qemu_argv then falls back to 2,000,000.
  uint64_t tsc_khz = 0;
  // Memory snapshots (docs/ARCHITECTURE.md, "Memory snapshots"). ram_fd >= 0: guest RAM
  // is this file (a memfd, borrowed, kept open until start() returns), mapped shared,
  // so the host can copy it while the VM is paused (Qmp::save_to with x-ignore-shared).
  // ram_snapshot set: RAM is that file mapped private (copy-on-write: the file is never
  // written) and QEMU waits for its device state (-incoming defer; Qmp::restore_from).
  int ram_fd = -1;
  std::filesystem::path ram_snapshot;
  int incoming_fd = -1;  // with ram_snapshot: the saved device state (borrowed), for restore_from
  bool qmp = false;      // a QMP socket (k_qmp_socket) in the state dir
};

// virtio-fs queue size: large enough for a 1 MiB request without INDIRECT.
inline constexpr int k_virtiofs_queue_size = 1024;

// The base kernel command lines (k_base_cmdline, k_arm64_cmdline) are in machine.hpp.
// Under TCG every vCPU's TSC is the host's own counter (host_tsc.hpp). The kernel can
// hang calibrating it on a loaded host, so it is told the rate (tsc_early_khz=, which
// must be the real one or the guest clock drifts by the ratio: VmSpec::tsc_khz), and
// that it is reliable: otherwise, with 2+ vCPUs, its sync check sees the vCPU threads'
// scheduling as "TSCs unsynchronized", falls back to jiffies and the clock loses every
// tick a busy host delays (measured: half speed under load). Not used with KVM, where
// kvmclock supplies both. The rate is appended after this text. x86-64 only: arm64's
// generic timer has a fixed, announced frequency.
inline constexpr const char* k_tcg_cmdline = "tsc=reliable tsc_early_khz=";
inline constexpr const char* k_console_log = "console.log";
inline constexpr const char* k_qemu_log = "qemu.log";
inline constexpr const char* k_control_socket = "ctl.sock";
inline constexpr const char* k_bench_9p_tag = "bench9p";

// The full command line (the plan); paths inside the state dir are relative.
std::vector<std::string> qemu_argv(const VmSpec& spec);

class QemuVm final : public Vm {
 public:
  static util::Result<QemuVm> start(const VmSpec& spec);
  QemuVm(QemuVm&&) noexcept = default;
  QemuVm& operator=(QemuVm&&) noexcept = default;
  ~QemuVm() override { kill(); }

  // Connects to the QMP socket (VmSpec::qmp), retrying until QEMU has created it.
  util::Result<Qmp> connect_qmp(std::chrono::milliseconds timeout);
  // Connects to the control socket, retrying until QEMU has created it.
  util::Result<util::Fd> connect_control(std::chrono::milliseconds timeout) override;
  // The exit status once QEMU has exited (reaped), without blocking.
  util::Result<std::optional<util::ExitStatus>> poll_exit() override;
  // Waits up to TIMEOUT for QEMU to exit; kills it after that. Returns how it ended.
  util::Result<util::ExitStatus> wait_exit(std::chrono::milliseconds timeout) override;
  // SIGKILL and reap (no-op when already gone).
  void kill() override;
  bool running() const { return m_child.running(); }
  pid_t pid() const { return m_child.pid(); }

  const std::filesystem::path& state_dir() const { return m_state_dir; }
  // The QEMU this VM runs on (binary, version, firmware).
  const QemuHost& host() const { return m_host; }
  std::filesystem::path console_log() const override { return m_state_dir / k_console_log; }
  // A one-line reason from the console and QEMU logs: the agent's
  // MATCHLOCK-AGENT-FATAL line, a kernel panic, or QEMU's own error. "" if none.
  std::string diagnose() const override;

 private:
  QemuVm(util::Child child, std::filesystem::path state_dir, QemuHost host, std::unique_ptr<ConsoleLog> console)
      : m_child(std::move(child)),
        m_state_dir(std::move(state_dir)),
        m_host(std::move(host)),
        m_console(std::move(console)) {}
  void exited(util::ExitStatus status);
  util::Child m_child;
  std::filesystem::path m_state_dir;
  QemuHost m_host;
  std::unique_ptr<ConsoleLog> m_console;  // destroyed after the child is killed (~QemuVm)
  std::optional<util::ExitStatus> m_exit;
};

}  // namespace backends::qemu
