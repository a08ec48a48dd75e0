// Chooses KVM or TCG with a REAL probe: boot our kernel+initramfs under KVM with
// `matchlock.probe=1` (the agent prints MATCHLOCK-PROBE-OK and powers off). The
// answer is cached per host boot (/proc/sys/kernel/random/boot_id) and QEMU
// (binary and version: QemuHost::identity) in
// $XDG_CACHE_HOME/matchlock/accel-probe.json. MATCHLOCK_ACCEL=kvm|tcg forces one.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "backends/qemu/qemu_vm.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace backends::qemu {

struct AccelChoice {
  Accel accel = Accel::Tcg;
  std::string reason;  // why (e.g. "KVM probe: guest did not boot within 4s")
  bool from_cache = false;
};

inline constexpr const char* k_probe_ok = "MATCHLOCK-PROBE-OK";
inline constexpr std::chrono::milliseconds k_probe_timeout{4000};

// The cached result for this host boot and this QEMU, if any (no probe is run).
std::optional<AccelChoice> cached_accel(const util::Dirs& dirs, const QemuHost& qemu);

// Cached result, else probe now and cache it. A guest of another architecture than
// the host's always runs under TCG (no probe).
util::Result<AccelChoice> choose_accel(const util::Dirs& dirs, const std::filesystem::path& kernel,
                                       const std::filesystem::path& initramfs, GuestArch arch = host_arch());

}  // namespace backends::qemu
