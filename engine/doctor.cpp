#include "engine/doctor.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "backends/initramfs.hpp"
#include "backends/kernel_bundle.hpp"
#include "backends/qemu/accel_probe.hpp"
#include "backends/qemu/qemu_host.hpp"
#ifdef __APPLE__
#include "backends/vz/vz_host.hpp"
#endif
#include "engine/backend_choice.hpp"
#include "engine/memory_snapshot_store.hpp"
#include "engine/sandbox_snapshot.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/process_info.hpp"

namespace engine {

namespace {

std::string first_line_of(const std::vector<std::string>& argv) {
  auto out = util::run_command(argv);
  if (!out) return {};
  std::string text = out->out.empty() ? out->err : out->out;
  return text.substr(0, text.find('\n'));
}

Check check_program(const char* key, const char* program, std::vector<std::string> version_argv,
                    CheckState missing_state, const char* missing_hint) {
  Check c{key, missing_state, missing_hint};
  auto path = util::find_program(program);
  if (path.empty()) return c;
  version_argv.insert(version_argv.begin(), path.string());
  c.state = CheckState::Ok;
  c.detail = path.string();
  if (auto v = first_line_of(version_argv); !v.empty()) c.detail += " (" + v + ")";
  return c;
}

// The QEMU `up` runs (MATCHLOCK_QEMU, else PATH): path and version.
Check check_qemu(const util::Result<backends::qemu::QemuHost>& host) {
  Check c{"qemu", CheckState::Missing, "qemu-system-x86_64 not found: apt-get install qemu-system-x86"};
  if (!host) {
    if (!backends::qemu::qemu_binary().empty()) c.detail = host.error().message();
    return c;
  }
  c.state = CheckState::Ok;
  c.detail = host->binary.string() + " (" + host->version_line + ")";
  return c;
}

// The microvm firmware it boots with (backends/qemu/qemu_host.hpp).
Check check_firmware(const util::Result<backends::qemu::QemuHost>& host) {
  Check c{"microvm_firmware", CheckState::Warn, "unknown: no usable QEMU"};
  if (!host) return c;
  const auto& f = host->firmware;
  c.state = CheckState::Ok;
  c.detail = f.describe();
  if (f.kind != backends::qemu::FirmwareKind::Qboot)
    c.detail += "; a " + std::to_string(backends::qemu::k_seabios_bad_mib) + " MiB guest gets " +
                std::to_string(backends::qemu::guest_memory_mib(backends::qemu::k_seabios_bad_mib, f.kind)) +
                " MiB (docs/ARCHITECTURE.md, QEMU versions)";
  return c;
}

// The real probe result: cached for this host boot and QEMU, else probed now (needs
// the kernel bundle and the agent). Without them only the static facts are shown.
Check check_kvm(const util::Dirs& dirs, const util::Result<backends::qemu::QemuHost>& host) {
  Check c{"kvm", CheckState::Warn, ""};
  struct stat st;
  if (::stat("/dev/kvm", &st) != 0) {
    c.detail = "/dev/kvm absent: VMs run under TCG (software emulation, slower)";
    return c;
  }
  if (::access("/dev/kvm", R_OK | W_OK) != 0) {
    c.detail = "/dev/kvm not accessible by this user (add yourself to group kvm): VMs run under TCG";
    return c;
  }
  if (!host) {
    c.detail = "/dev/kvm accessible; probe not run (no usable QEMU)";
    return c;
  }
  auto choice = backends::qemu::cached_accel(dirs, *host);
  if (!choice) {
    auto kernel = backends::installed_kernel_bundle(dirs);
    auto agent = backends::locate_agent();
    if (!kernel || !*kernel || !agent) {
      c.detail = "/dev/kvm accessible; probe not run (no kernel bundle or agent yet)";
      if (util::path_exists("/sys/module/kvm_pvm")) c.detail += "; nested PVM (kvm_pvm module) detected";
      return c;
    }
    auto initramfs = backends::ensure_initramfs(dirs, **kernel, *agent);
    auto probed = initramfs ? backends::qemu::choose_accel(dirs, (*kernel)->vmlinuz, *initramfs)
                            : util::Result<backends::qemu::AccelChoice>(initramfs.error());
    if (!probed) {
      c.detail = "KVM probe failed to run: " + probed.error().message();
      return c;
    }
    choice = *probed;
  }
  if (choice->accel == backends::qemu::Accel::Kvm) {
    c.state = CheckState::Ok;
    c.detail = "usable: " + choice->reason;
  } else {
    c.detail = "unusable, VMs run under TCG: " + choice->reason;
  }
  if (choice->from_cache) c.detail += " (cached for this boot)";
  return c;
}

Check check_userns() {
  Check c{"user_namespaces", CheckState::Warn, ""};
  std::string max = util::kernel_setting("user.max_user_namespaces");
  std::string clone = util::kernel_setting("kernel.unprivileged_userns_clone");
  if (max == "0") {
    c.detail = "disabled (user.max_user_namespaces = 0)";
  } else if (clone == "0") {
    c.detail = "unprivileged user namespaces disabled (kernel.unprivileged_userns_clone = 0)";
  } else {
    c.state = CheckState::Ok;
    c.detail = "available (max " + (max.empty() ? std::string("?") : max) + ")";
  }
  return c;
}

Check check_kernel_bundle(const util::Dirs& dirs) {
  Check c{"kernel_bundle", CheckState::Missing,
          "not installed: run `matchlock kernel install` (done automatically on first use)"};
  auto bundle = backends::installed_kernel_bundle(dirs);
  if (!bundle) {
    c.state = CheckState::Warn;
    c.detail = bundle.error().message();
  } else if (*bundle) {
    const auto& b = **bundle;
    c.state = CheckState::Ok;
    c.detail = b.package + " " + b.version + " (" + b.release + ", " + std::to_string(b.modules.size()) + " modules) " +
               b.digest;
  }
  return c;
}

// linux/arm64 guests on this host (docs/ARCHITECTURE.md, "Guest architectures"): the
// cross-built agent, qemu-system-aarch64, and the arm64 kernel bundle if installed.
Check check_arm64_guests(const util::Dirs& dirs) {
  using backends::GuestArch;
  Check c{"arm64_guests", CheckState::Warn, ""};
  auto agent = backends::locate_agent(GuestArch::Arm64);
  auto qemu = backends::qemu::probe_qemu_host(GuestArch::Arm64);
  if (!agent || !qemu) {
    c.detail = "linux/arm64 sandboxes cannot boot: " + (!agent ? agent.error().message() : qemu.error().message());
    return c;
  }
  c.state = CheckState::Ok;
  c.detail = qemu->binary.string() + " (" + qemu->version_line + "), agent " + agent->string();
  auto bundle = backends::installed_kernel_bundle(dirs, GuestArch::Arm64);
  if (!bundle)
    c.detail += "; kernel bundle: " + bundle.error().message();
  else if (!*bundle)
    c.detail += "; kernel bundle installed on first use (`matchlock kernel install --arch arm64`)";
  else
    c.detail += "; kernel " + (*bundle)->package + " " + (*bundle)->version;
  if (backends::host_arch() != GuestArch::Arm64) c.detail += "; TCG (no KVM across architectures)";
  return c;
}

#ifdef __APPLE__
// Virtualization.framework on this Mac (backends/vz, EXPERIMENTAL): VZVirtualMachine.isSupported,
// the entitlement this binary was signed with, and the CPU and memory bounds VZ allows.
Check check_vz() {
  auto h = backends::vz::probe_vz_host();
  Check c{"vz", CheckState::Ok, ""};
  c.detail = std::string("VZVirtualMachine.isSupported ") + (h.supported ? "yes" : "no") + ", entitlement " +
             backends::vz::k_vz_entitlement + " " + (h.entitled ? "yes" : "no") + ", CPUs " +
             std::to_string(h.min_cpus) + "-" + std::to_string(h.max_cpus) + ", memory " +
             std::to_string(h.min_memory >> 20) + "-" + std::to_string(h.max_memory >> 20) + " MiB, " + h.os_version +
             "; EXPERIMENTAL (docs/macos.md)";
  if (!h.entitled) c.detail += "; " + h.entitlement_detail;
  if (!h.supported || !h.entitled) c.state = CheckState::Missing;
  return c;
}
#endif

}  // namespace

const char* to_string(CheckState state) {
  switch (state) {
    case CheckState::Ok:
      return "ok";
    case CheckState::Warn:
      return "warn";
    case CheckState::Missing:
      return "missing";
  }
  return "?";
}

std::vector<Enforcement> enforced_by_this_build(const util::Dirs& dirs) {
  bool virtiofs = false;
  if (auto bundle = backends::installed_kernel_bundle(dirs); bundle && *bundle)
    for (const auto& m : (*bundle)->modules) virtiofs = virtiofs || m.name == "virtiofs";
  return {
      {"network_policy", true,
       "every guest TCP flow judged by name/address on the host (net/policy, net/proxy); deny-all default"},
      {"dns_local", true, "DNS answered by matchlock; denied and invalid names get NXDOMAIN and never leave the host"},
      {"hostname_validation", true,
       "one rule for DNS, SNI, Host and URIs (net/hostname); only valid names reach the resolver"},
      {"http_checks", true,
       "every plain/intercepted HTTP request: one Host, authority = connection or allowed, framing"},
      {"secret_injection", true,
       "placeholders in the guest; real values only toward a bound connection and authority over TLS"},
      {"secret_scrubbing", true, "real values replaced in every response, audit record and log line the proxy writes"},
      {"workspace_confinement", true,
       "file server resolves beneath the share root, no symlink or .. escape (workspace/)"},
      {"workspace_exclude", true, "excluded paths are invisible and cannot be moved, linked or created (workspace/)"},
      {"workspace_transport_virtiofs", virtiofs,
       virtiofs ? "vhost-user-fs served by matchlock (backends/vhost)"
                : "the installed kernel bundle has no virtiofs module"},
      {"workspace_transport_channel", true, "FUSE over the agent channel (fallback)"},
      {"backend_qemu", host_default_vmm() == Vmm::Qemu,
       host_default_vmm() == Vmm::Qemu ? "QEMU microvm (KVM when usable, else TCG)"
                                       : "refused on macOS by validation (sandbox.backend)"},
      {"backend_firecracker", false, "refused by validation (sandbox.backend)"},
      {"backend_gvisor", false, "refused by validation (sandbox.backend)"},
      {"backend_vz", host_default_vmm() == Vmm::Vz,
       host_default_vmm() == Vmm::Vz
           ? "Virtualization.framework (backends/vz), EXPERIMENTAL: not yet run on Apple hardware"
           : "macOS only: refused by validation on this host (sandbox.backend)"},
      {"network_dns_servers", false, "refused by validation (network.dns); the host's resolver is used"},
  };
}

// Memory snapshots (engine/sandbox_snapshot.hpp): can this QEMU save and resume a
// microvm, and what the store holds.
Check check_snapshots(const util::Dirs& dirs, const util::Result<backends::qemu::QemuHost>& host) {
  Check c{"memory_snapshots", CheckState::Warn, "unknown: no usable QEMU"};
  if (!host) return c;
  if (std::string why = snapshot_unsupported_reason(*host); !why.empty()) {
    c.detail = "off: " + why + "; every sandbox boots cold";
    return c;
  }
  uint64_t bytes = 0;
  auto saved = list_memory_snapshots(dirs);
  for (const auto& s : saved) bytes += s.bytes;
  c.state = CheckState::Ok;
  c.detail = "QEMU " + host->version +
             " saves and resumes (x-ignore-shared, RAM mapped copy-on-write); shares of a snapshotted "
             "sandbox use the channel transport (QEMU cannot migrate vhost-user-fs); " +
             std::to_string(saved.size()) + " saved in " + memory_snapshots_dir(dirs).string() + " (" +
             std::to_string(bytes >> 20) + " MiB)";
  return c;
}

std::vector<Check> run_doctor(const util::Dirs& dirs) {
  std::vector<Check> checks;
#ifdef __APPLE__
  checks.push_back(check_vz());
#endif
  auto qemu = backends::qemu::probe_qemu_host();
  checks.push_back(check_qemu(qemu));
  checks.push_back(check_firmware(qemu));
  checks.push_back(check_kvm(dirs, qemu));
  checks.push_back(check_userns());
  checks.push_back(check_program("e2fsprogs", "e2fsck", {"-V"}, CheckState::Warn,
                                 "e2fsck not found (optional, used to check images): apt-get install e2fsprogs"));
  checks.push_back(check_program("runsc", "runsc", {"--version"}, CheckState::Warn,
                                 "runsc not found (not used yet: the gVisor backend is not implemented)"));
  checks.push_back(check_kernel_bundle(dirs));
  checks.push_back(check_arm64_guests(dirs));
  checks.push_back(check_snapshots(dirs, qemu));
  return checks;
}

}  // namespace engine
