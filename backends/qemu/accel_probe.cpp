#include "backends/qemu/accel_probe.hpp"

#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "backends/host_overrides.hpp"
#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/temp_dir.hpp"

namespace backends::qemu {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string boot_id() {
  auto id = util::read_file("/proc/sys/kernel/random/boot_id");
  if (!id) return {};
  std::string s = *id;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

fs::path cache_path(const util::Dirs& dirs) { return dirs.cache / "accel-probe.json"; }

// Boots the probe under KVM; returns "" when the guest answered, else why not.
util::Result<std::string> probe_kvm(const util::Dirs& dirs, const fs::path& kernel, const fs::path& initramfs,
                                    GuestArch arch) {
  if (::access("/dev/kvm", R_OK | W_OK) != 0)
    return std::string(util::path_exists("/dev/kvm") ? "/dev/kvm is not accessible to this user"
                                                     : "/dev/kvm is absent");
  ML_TRY(util::make_dirs(dirs.cache));
  util::TempDir tmp = ML_TRY(util::TempDir::create(dirs.cache, ".probe-"));
  VmSpec spec;
  spec.arch = arch;
  spec.kernel = kernel;
  spec.initramfs = initramfs;
  spec.extra_cmdline = "matchlock.probe=1";
  spec.accel = Accel::Kvm;
  spec.memory_mib = 256;
  spec.control = ControlPort::None;
  spec.state_dir = tmp.path();
  QemuVm vm = ML_TRY(QemuVm::start(spec));
  auto deadline = std::chrono::steady_clock::now() + k_probe_timeout;
  for (;;) {
    auto console = util::read_file(vm.console_log());
    if (console && console->find(k_probe_ok) != std::string::npos) return std::string{};
    auto exited = ML_TRY(vm.poll_exit());
    if (exited) {
      std::string why = vm.diagnose();
      return "KVM probe: qemu " + exited->describe() + " without booting" + (why.empty() ? "" : " (" + why + ")");
    }
    if (std::chrono::steady_clock::now() > deadline) {
      vm.kill();
      std::string why = "KVM probe: guest did not boot within " + std::to_string(k_probe_timeout.count() / 1000) + "s";
      if (util::path_exists("/sys/module/kvm_pvm")) why += " (nested PVM: kvm_pvm module)";
      return why;
    }
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

std::optional<AccelChoice> cached_accel(const util::Dirs& dirs, const QemuHost& qemu) {
  auto text = util::read_file(cache_path(dirs));
  if (!text) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(*text);
    if (j.value("boot_id", "") != boot_id() || boot_id().empty()) return std::nullopt;
    if (j.value("qemu", "") != qemu.identity()) return std::nullopt;
    AccelChoice c;
    c.accel = j.value("accel", "") == "kvm" ? Accel::Kvm : Accel::Tcg;
    c.reason = j.value("reason", "");
    c.from_cache = true;
    return c;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

util::Result<AccelChoice> choose_accel(const util::Dirs& dirs, const fs::path& kernel, const fs::path& initramfs,
                                       GuestArch arch) {
  const bool foreign = arch != host_arch();
  if (const std::string& v = host_overrides().accel; !v.empty()) {
    if (v == "kvm" && foreign)
      return util::make_error(util::ErrorCode::Usage, std::string("MATCHLOCK_ACCEL=kvm: KVM cannot run an ") +
                                                          to_string(arch) + " guest on an " + to_string(host_arch()) +
                                                          " host");
    if (v == "kvm") return AccelChoice{Accel::Kvm, "forced by MATCHLOCK_ACCEL=kvm", false};
    if (v == "tcg") return AccelChoice{Accel::Tcg, "forced by MATCHLOCK_ACCEL=tcg", false};
    return util::make_error(util::ErrorCode::Usage, "MATCHLOCK_ACCEL must be kvm or tcg, not " + v);
  }
  if (foreign)
    return AccelChoice{
        Accel::Tcg,
        std::string("cross-architecture: an ") + to_string(arch) + " guest on an " + to_string(host_arch()) + " host",
        false};
  QemuHost qemu = ML_TRY(probe_qemu_host(arch));
  if (auto cached = cached_accel(dirs, qemu)) return *cached;
  auto start = std::chrono::steady_clock::now();
  std::string why = ML_TRY_CTX(probe_kvm(dirs, kernel, initramfs, arch), "KVM probe");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  AccelChoice c{why.empty() ? Accel::Kvm : Accel::Tcg,
                why.empty() ? "KVM probe booted in " + std::to_string(ms) + " ms" : why, false};
  nlohmann::json j = {
      {"boot_id", boot_id()}, {"qemu", qemu.identity()}, {"accel", to_string(c.accel)}, {"reason", c.reason}};
  if (auto r = util::write_file_atomic(cache_path(dirs), j.dump() + "\n"); !r)
    util::log::debug("cannot cache the KVM probe: " + r.error().message());
  return c;
}

}  // namespace backends::qemu
