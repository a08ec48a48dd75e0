#include "engine/sandbox_vm.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "backends/initramfs.hpp"
#include "backends/qemu/ram_file.hpp"
#include "backends/vz/vz_spec.hpp"
#ifdef __APPLE__
#include "backends/vz/vz_vm.hpp"
#endif
#include "guest/protocol/control_transport.hpp"
#include "engine/env_overrides.hpp"
#include "engine/layer_store.hpp"
#include "engine/sandbox_net.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/process.hpp"

namespace engine {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using backends::qemu::Accel;

namespace {

constexpr auto k_connect_timeout = 30s;
constexpr auto k_handshake_timeout = 120s;  // TCG on a loaded 2-core host
constexpr auto k_boot_timeout = 120s;

int64_t ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

util::Result<void> create_upper_disk(const fs::path& path, uint64_t size) {
  {
    util::Fd fd = ML_TRY(util::open_fd(path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) < 0) return util::sys_error("ftruncate", path);
  }
  auto mke2fs = util::find_program("mke2fs");
  if (mke2fs.empty()) mke2fs = "/sbin/mke2fs";
  auto out =
      ML_TRY(util::run_command({mke2fs.string(), "-q", "-F", "-t", "ext4", "-L", "ml-upper", "-E",
                                "root_owner=0:0,lazy_itable_init=1,lazy_journal_init=1", "-m", "0", path.string()}));
  if (out.status.code != 0 || out.status.signal != 0)
    return util::make_error(util::ErrorCode::Io,
                            "mke2fs " + path.string() + " " + out.status.describe() + ": " + out.err);
  return util::ok();
}

// The accelerator (a real probe, cached) and the QEMU for SPEC's guest.
util::Result<backends::qemu::QemuHost> SandboxVm::prepare_qemu(const util::Dirs& dirs, const SandboxSpec& spec,
                                                               const fs::path& initramfs) {
  m_accel = ML_TRY(backends::qemu::choose_accel(dirs, m_kernel.vmlinuz, initramfs, spec.arch));
  // Said once, when the probe runs (once per host boot and QEMU); later runs are quiet
  // about it (`matchlock doctor` and -v still say it). Never for another architecture's
  // guest: TCG is all there is.
  if (m_accel.accel == Accel::Tcg && spec.arch == backends::host_arch() && m_accel.reason.rfind("forced", 0) != 0 &&
      !m_accel.from_cache)
    util::log::warn("KVM unusable (" + m_accel.reason + "); using TCG software emulation (slower)");
  util::log::debug("accel " + std::string(to_string(m_accel.accel)) + ": " + m_accel.reason);
  return backends::qemu::probe_qemu_host(spec.arch);
}

util::Result<void> SandboxVm::start_qemu(backends::qemu::VmSpec vm) {
  vm.accel = m_accel.accel;
  auto qemu = std::make_unique<backends::qemu::QemuVm>(ML_TRY(backends::qemu::QemuVm::start(vm)));
  m_qemu = qemu.get();
  m_vm = std::move(qemu);
  return util::ok();
}

// Virtualization.framework (backends/vz, macOS only, experimental): the same disks, NIC and
// initramfs; the agent is told to listen on vsock instead of opening virtio-serial.
util::Result<void> SandboxVm::start_vz(const SandboxSpec& spec, const fs::path& initramfs, const fs::path& state_dir,
                                       const backends::qemu::VmSpec& vm) {
  if (spec.arch != backends::GuestArch::Arm64)
    return util::make_error(util::ErrorCode::Unsupported, std::string("the vz backend boots linux/arm64 guests only; "
                                                                      "this sandbox's platform is ") +
                                                              to_string(spec.arch));
  backends::vz::VmSpec vz;
  vz.kernel = m_kernel.vmlinuz;  // the arm64 bundle's uncompressed Image (backends/kernel_image.hpp)
  vz.initramfs = initramfs;
  vz.control_port = protocol::k_vsock_control_port;
  vz.extra_cmdline = protocol::control_cmdline({protocol::ControlKind::Vsock, vz.control_port});
  vz.cpus = spec.cpus;
  vz.memory_mib = spec.memory_bytes >> 20;
  for (const auto& d : vm.disks)
    vz.disks.push_back({d.path, d.serial,
                        d.access == backends::qemu::DiskAccess::ReadOnly ? backends::vz::DiskAccess::ReadOnly
                                                                         : backends::vz::DiskAccess::ReadWrite});
  vz.net_fd = vm.net_fd;
  vz.net_mac = vm.net_mac;
  vz.state_dir = state_dir;
  ML_TRY(backends::vz::check_spec(vz));
#ifdef __APPLE__
  m_vm = ML_TRY(backends::vz::VzVm::start(vz));
  return util::ok();
#else
  return util::make_error(
      util::ErrorCode::Unsupported,
      "sandbox.backend \"vz\": Virtualization.framework exists only on macOS, and this build is for another host");
#endif
}

namespace {

// Why a boot cannot use a memory snapshot: a limit of this QEMU (a warning, once per boot;
// `matchlock doctor` says it too) or this sandbox's setup (platform, mounts, overrides: -v says it).
struct SnapshotBlocker {
  enum class Source { None, Sandbox, Qemu } source = Source::None;
  std::string why;
};

SnapshotBlocker sandbox_setup(std::string why) { return {SnapshotBlocker::Source::Sandbox, std::move(why)}; }

// What keeps this boot from using a memory snapshot (Source::None: nothing).
SnapshotBlocker snapshot_blocker(const SandboxSpec& spec, const backends::qemu::QemuHost& host) {
  if (spec.arch != backends::GuestArch::Amd64)
    return sandbox_setup("memory snapshots are implemented for amd64 guests only");
  if (!spec.bench_9p_dir.empty()) return sandbox_setup("MATCHLOCK_BENCH_9P: a virtio-9p share cannot be saved");
  if (spec.vmm != Vmm::Qemu) return sandbox_setup("the vz backend has no memory snapshots yet");
  if (spec.network && spec.network->link() == NicLink::Datagram)
    return sandbox_setup("MATCHLOCK_NIC_LINK=datagram: not tried with snapshots");
  const auto& env = env_overrides();
  if (!spec.mounts.empty() && env && env->workspace_transport == "virtiofs")
    return sandbox_setup("MATCHLOCK_WORKSPACE_TRANSPORT=virtiofs: QEMU cannot save a vhost-user-fs device");
  if (auto nested = nested_mount(spec.mounts))
    return sandbox_setup("mount " + nested->first + " inside " + nested->second +
                         " needs virtio-fs, which QEMU cannot save");
  // The agent writes a secret file itself; into a share it serves over the channel it
  // would wait on its own FUSE requests. "~/" is resolved in the guest: any mount may hold it.
  if (spec.network)
    for (const auto& f : spec.network->secret_files())
      for (const auto& m : spec.mounts)
        if (f.path.rfind("~", 0) == 0 || f.path == m.target || f.path.rfind(m.target + "/", 0) == 0)
          return sandbox_setup("secret file " + f.path + " may lie in mount " + m.target +
                               ", which needs virtio-fs (QEMU cannot save it) to be written at start");
  std::string qemu = snapshot_unsupported_reason(host);
  if (qemu.empty()) return {};
  return {SnapshotBlocker::Source::Qemu, qemu};
}

protocol::ResumeConfig resume_config(const SandboxSpec& spec, const std::vector<protocol::MountSpec>& mounts) {
  protocol::ResumeConfig r;
  r.time_unix_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  r.hostname = spec.hostname;
  r.hosts = {"127.0.0.1 localhost", "127.0.1.1 " + spec.hostname, "::1 localhost ip6-localhost ip6-loopback"};
  if (spec.network) r.ca_pem = spec.network->guest_config().ca_pem;
  r.mounts = mounts;
  return r;
}

}  // namespace

std::string SnapshotOutcome::describe() const {
  switch (kind) {
    case Kind::Resumed:
      return "resumed from memory snapshot " + key.substr(0, 12);
    case Kind::Saved:
      return "booted cold, saved memory snapshot " + key.substr(0, 12) + (note.empty() ? "" : " (" + note + ")");
    case Kind::Present:
      return "memory snapshot " + key.substr(0, 12) + " already saved";
    case Kind::Cold:
      break;
  }
  return note.empty() ? "booted cold" : "booted cold (" + note + ")";
}

util::Result<SandboxVm> SandboxVm::boot(const util::Dirs& dirs, const SandboxSpec& spec, const fs::path& state_dir) {
  auto t0 = std::chrono::steady_clock::now();
  if (!state_dir.is_absolute() || !util::path_exists(state_dir))
    return util::make_error(util::ErrorCode::Internal,
                            "sandbox state dir must be an existing absolute path: '" + state_dir.string() + "'");
  SandboxVm sb;
  sb.m_kernel = spec.kernel.empty() ? ML_TRY(backends::ensure_kernel_bundle(dirs, spec.arch))
                                    : ML_TRY(backends::kernel_bundle_from_path(spec.kernel));
  if (sb.m_kernel.arch != spec.arch)
    return util::make_error(util::ErrorCode::Usage, "kernel " + sb.m_kernel.vmlinuz.string() + " is for " +
                                                        to_string(sb.m_kernel.arch) + ", but the image is " +
                                                        to_string(spec.arch) + " ([sandbox].platform)");
  fs::path agent = ML_TRY(backends::locate_agent(spec.arch));
  fs::path initramfs = ML_TRY_CTX(backends::ensure_initramfs(dirs, sb.m_kernel, agent), "initramfs");
  sb.m_vmm = spec.vmm;
  backends::qemu::QemuHost host;  // QEMU only
  if (spec.vmm == Vmm::Qemu) host = ML_TRY(sb.prepare_qemu(dirs, spec, initramfs));

  fs::path upper = state_dir / "upper.ext4";
  backends::qemu::VmSpec vm;
  vm.arch = spec.arch;
  vm.host = host;
  vm.kernel = sb.m_kernel.vmlinuz;
  vm.initramfs = initramfs;
  vm.cpus = spec.cpus;
  vm.memory_mib = spec.memory_bytes >> 20;
  vm.disks = {{spec.image, "ml-image", backends::qemu::DiskAccess::ReadOnly},
              {upper, "ml-upper", backends::qemu::DiskAccess::ReadWrite}};
  std::vector<std::string> lowers, layer_keys;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    std::string serial = "ml-layer" + std::to_string(i);
    vm.disks.push_back({spec.layers[i], serial, backends::qemu::DiskAccess::ReadOnly});
    lowers.push_back(serial + ":upper");  // the captured disk's overlay upper dir
    layer_keys.push_back(spec.layers[i].stem().string());
  }
  lowers.push_back("ml-image");
  vm.state_dir = state_dir;
  vm.bench_9p_dir = spec.bench_9p_dir;
  if (spec.network) {
    vm.net_fd = spec.network->vm_fd();
    if (spec.network->link() == NicLink::Datagram) vm.net_framing = backends::qemu::NetFraming::Datagram;
  }

  // Memory snapshots: the VM to save or resume has no vhost-user-fs device (QEMU cannot
  // migrate one), so its shares go over the channel transport, attached after resume.
  SnapshotChoice snap;
  if (spec.snapshot == SnapshotUse::Off) {
    snap.reason = "";
  } else if (SnapshotBlocker blocker = snapshot_blocker(spec, host); blocker.source != SnapshotBlocker::Source::None) {
    snap.reason = blocker.why;
    if (blocker.source == SnapshotBlocker::Source::Qemu)
      util::log::warn("memory snapshot: " + blocker.why + "; booting cold");
    else
      util::log::debug("memory snapshot: off: " + blocker.why);
  } else {
    uint64_t ram_mib = backends::qemu::guest_memory_mib(vm.memory_mib, host.firmware.kind);
    auto inputs = snapshot_inputs(vm, sb.m_kernel, agent, host, layer_keys, spec.disk_bytes);
    if (!inputs) {
      snap.reason = inputs.error().message();
      util::log::warn("memory snapshot: " + snap.reason + "; booting cold");
    } else {
      snap = choose_snapshot(dirs, *inputs, ram_mib << 20);
    }
  }
  sb.m_snapshot.key = snap.key;
  sb.m_snapshot.note = snap.reason;
  if (spec.snapshot == SnapshotUse::SaveOnly && snap.action != SnapshotChoice::Action::Save) {
    if (snap.action == SnapshotChoice::Action::Resume) sb.m_snapshot.kind = SnapshotOutcome::Kind::Present;
    return sb;  // nothing to save: boot nothing
  }
  sb.m_mounts = std::make_unique<WorkspaceMounts>();
  // Virtualization.framework: the workspace always goes through our FUSE file server over the
  // control channel (its own virtio-fs share would bypass exclude and the escape checks).
  ShareTransport transport = spec.mounts.empty() || spec.vmm == Vmm::Vz || snap.action != SnapshotChoice::Action::Cold
                                 ? ShareTransport::Channel
                                 : ML_TRY(choose_transport(sb.m_kernel));
  if (auto nested = nested_mount(spec.mounts); nested && transport == ShareTransport::Channel)
    return util::make_error(util::ErrorCode::Unsupported,
                            "mount " + nested->first + " lies inside the mount at " + nested->second +
                                ": nested mounts need virtio-fs, and " +
                                (spec.vmm == Vmm::Vz ? std::string("the vz backend serves mounts over the channel only")
                                                     : "the guest kernel " + sb.m_kernel.dir.string() +
                                                           (sb.m_kernel.has_module("virtiofs")
                                                                ? " is used with MATCHLOCK_WORKSPACE_TRANSPORT=channel"
                                                                : " has no virtiofs module")));
  if (!spec.mounts.empty()) util::log::debug(std::string("workspace transport: ") + to_string(transport));
  std::vector<protocol::MountSpec> mounts = boot_mounts(spec.mounts, transport);

  bool resumed = false;
  if (snap.action == SnapshotChoice::Action::Resume) {
    auto r = sb.resume_from(*snap.snapshot, vm, spec, mounts, t0);
    if (r) {
      resumed = true;
    } else {
      // The VM never ran a task: boot cold instead (the NIC's fd is still ours).
      util::log::warn("memory snapshot " + snap.key.substr(0, 12) + ": resume failed (" + r.error().message() +
                      "); removed it, booting cold");
      (void)remove_memory_snapshot(dirs, snap.key);
      sb.m_client.reset();
      sb.m_vm.reset();
      sb.m_qemu = nullptr;
      snap.action = SnapshotChoice::Action::Cold;
      sb.m_snapshot.note = "resume failed";
    }
  }
  if (!resumed) {
    ML_TRY_CTX(create_upper_disk(upper, spec.disk_bytes), "writable disk");
    if (transport == ShareTransport::Virtiofs) vm.vhost_fs = ML_TRY_CTX(sb.m_mounts->prepare(spec.mounts), "workspace");
    const bool save = snap.action == SnapshotChoice::Action::Save;
    if (save) {
      sb.m_ram = ML_TRY(
          backends::qemu::create_ram_file(backends::qemu::guest_memory_mib(vm.memory_mib, host.firmware.kind) << 20));
      vm.ram_fd = sb.m_ram.get();
      vm.qmp = true;
    }
    if (spec.vmm == Vmm::Vz)
      ML_TRY(sb.start_vz(spec, initramfs, state_dir, vm));
    else
      ML_TRY(sb.start_qemu(std::move(vm)));
    if (spec.network) spec.network->vm_started();
    sb.m_mounts->vm_started();
    sb.m_times.vmm_started = ms_since(t0);

    auto stream = sb.m_vm->connect_control(k_connect_timeout);
    if (!stream) return sb.explain(std::move(stream).error());
    auto client = protocol::Client::handshake(std::move(*stream), k_handshake_timeout);
    if (!client) return sb.explain(std::move(client).error().context("agent handshake"));
    sb.m_client = std::make_unique<protocol::Client>(std::move(*client));
    sb.m_times.connected = ms_since(t0);

    protocol::BootConfig boot;
    boot.time_unix_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    boot.hostname = spec.hostname;
    boot.lower_disks = lowers;
    boot.hosts = {"127.0.0.1 localhost", "127.0.1.1 " + spec.hostname, "::1 localhost ip6-localhost ip6-loopback"};
    if (spec.network) boot.net = spec.network->guest_config();
    if (!save) boot.mounts = mounts;  // a saved VM gets them with "resume" (they differ between siblings)
    auto info = sb.m_client->boot(boot, k_boot_timeout);
    if (!info) return sb.explain(std::move(info).error().context("guest boot"));
    sb.m_boot_info = std::move(*info);
    if (save) ML_TRY(sb.save_and_resume(dirs, snap, spec, upper, mounts));
  }
  if (auto r = sb.m_mounts->attach(*sb.m_client, spec.mounts, spec.mount_owner); !r)
    return sb.explain(std::move(r).error().context("workspace"));
  // Secret files (placeholders only), owned by the sandbox's user, before any task runs;
  // after the mounts, so a file may live in a volume (~/.claude in a volume).
  if (spec.network) {
    const std::string owner = spec.mount_owner.empty() ? "0" : spec.mount_owner;
    for (const auto& f : spec.network->secret_files())
      if (auto r = sb.m_client->put_file(f.path, f.content, 0600, owner); !r)
        return sb.explain(std::move(r).error().context("secrets." + f.secret + ".file"));
  }
  sb.m_times.ready = ms_since(t0);
  util::log::debug(sb.m_snapshot.describe());
  sb.m_clock = std::make_unique<ClockSync>(*sb.m_client);
  return sb;
}

std::string SandboxVm::accel_name() const {
  if (m_vmm == Vmm::Vz) return "vz";
  return to_string(m_accel.accel);
}

util::Result<void> SandboxVm::save_and_resume(const util::Dirs& dirs, const SnapshotChoice& snap,
                                              const SandboxSpec& spec, const fs::path& upper,
                                              const std::vector<protocol::MountSpec>& mounts) {
  if (auto r = m_client->suspend(k_boot_timeout); !r) return explain(std::move(r).error().context("memory snapshot"));
  MemorySnapshot meta;
  meta.origin = spec.snapshot_origin;
  meta.uname = m_boot_info.uname;
  auto saved = save_snapshot(dirs, snap, *m_qemu, m_ram.get(), upper, std::move(meta));
  if (saved) {
    m_snapshot.kind = SnapshotOutcome::Kind::Saved;
    m_snapshot.note = std::to_string(saved->bytes >> 20) + " MiB";
  } else {
    m_snapshot.note = saved.error().message();
    util::log::warn("memory snapshot not saved: " + saved.error().message());
  }
  // The agent waits for a new connection, exactly as in a VM resumed from the snapshot.
  m_client.reset();
  auto stream = m_vm->connect_control(k_connect_timeout);
  if (!stream) return explain(std::move(stream).error());
  auto client = protocol::Client::handshake(std::move(*stream), k_handshake_timeout);
  if (!client) return explain(std::move(client).error().context("agent handshake after the memory snapshot"));
  m_client = std::make_unique<protocol::Client>(std::move(*client));
  protocol::ResumeConfig config = resume_config(spec, mounts);
  config.entropy = ML_TRY(resume_entropy());
  if (auto r = m_client->resume(config, k_boot_timeout); !r) return explain(std::move(r).error());
  return util::ok();
}

util::Result<void> SandboxVm::resume_from(const MemorySnapshot& snapshot, backends::qemu::VmSpec vm,
                                          const SandboxSpec& spec, const std::vector<protocol::MountSpec>& mounts,
                                          std::chrono::steady_clock::time_point t0) {
  fs::path upper = vm.state_dir / "upper.ext4";
  {
    util::Fd in = ML_TRY(util::open_fd(snapshot.upper(), O_RDONLY | O_CLOEXEC));
    util::Fd out = ML_TRY(util::open_fd(upper, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    ML_TRY_CTX(copy_sparse(in.get(), out.get()), "copy the snapshot's writable disk");
  }
  util::Fd state = ML_TRY(util::open_fd(snapshot.state(), O_RDONLY | O_CLOEXEC));
  vm.ram_snapshot = snapshot.ram();
  vm.incoming_fd = state.get();
  vm.qmp = true;
  ML_TRY(start_qemu(std::move(vm)));
  m_times.vmm_started = ms_since(t0);
  // Connected before the guest runs: the agent's port sees the host there at once.
  auto stream = m_vm->connect_control(k_connect_timeout);
  if (!stream) return explain(std::move(stream).error());
  auto qmp = m_qemu->connect_qmp(k_connect_timeout);
  if (!qmp) return std::move(qmp).error();
  if (auto r = qmp->restore_from(state.get(), k_boot_timeout); !r) return explain(std::move(r).error());
  auto client = protocol::Client::handshake(std::move(*stream), k_handshake_timeout);
  if (!client) return explain(std::move(client).error().context("agent handshake after resume"));
  m_client = std::make_unique<protocol::Client>(std::move(*client));
  m_times.connected = ms_since(t0);
  protocol::ResumeConfig config = resume_config(spec, mounts);
  config.entropy = ML_TRY(resume_entropy());
  if (auto r = m_client->resume(config, k_boot_timeout); !r) return explain(std::move(r).error());
  // Only now is the NIC's fd QEMU's alone (until here a failure could still boot cold on it).
  if (spec.network) spec.network->vm_started();
  m_boot_info.uname = snapshot.uname;
  m_boot_info.agent_version = m_client->agent_version();
  m_snapshot.kind = SnapshotOutcome::Kind::Resumed;
  return util::ok();
}

SandboxVm::~SandboxVm() {
  m_clock.reset();
  m_client.reset();  // closing the stream makes the agent power off
  if (m_vm) {
    auto st = m_vm->wait_exit(2s);
    (void)st;
  }
}

std::string SandboxVm::vmm_ended() {
  if (!m_vm) return {};
  std::lock_guard lock(*m_vm_mutex);
  auto st = m_vm->poll_exit();
  if (!st) return st.error().message();
  if (!*st) return {};
  std::string why = m_vm->diagnose();
  return (*st)->describe() + (why.empty() ? "" : ": " + why);
}

util::Error SandboxVm::explain(util::Error error) const {
  if (!m_vm) return error;
  // A dead agent: give QEMU a moment to exit so the console holds the reason. Never kills.
  if (!m_client || !m_client->connected()) {
    auto deadline = std::chrono::steady_clock::now() + 1s;
    while (std::chrono::steady_clock::now() < deadline) {
      std::lock_guard lock(*m_vm_mutex);
      auto st = m_vm->poll_exit();
      if (!st || *st) break;
      std::this_thread::sleep_for(10ms);
    }
  }
  std::string why = m_vm->diagnose();
  if (!why.empty()) error.context("guest failed (" + why + "; console: " + m_vm->console_log().string() + ")");
  return error;
}

util::Result<protocol::ExecResult> SandboxVm::exec(const protocol::ExecRequest& request, const protocol::ExecIo& io) {
  auto r = m_client->exec(request, io);
  if (!r) return explain(std::move(r).error());
  return r;
}

util::Result<void> SandboxVm::shutdown(std::chrono::milliseconds timeout) {
  m_clock.reset();
  if (m_client && m_client->connected()) {
    auto r = m_client->shutdown(timeout);
    if (!r) util::log::debug("shutdown: " + r.error().message());
  }
  m_client.reset();
  if (m_vm) {
    auto st = ML_TRY(m_vm->wait_exit(timeout));
    util::log::debug("vmm " + st.describe());
  }
  return util::ok();
}

}  // namespace engine
