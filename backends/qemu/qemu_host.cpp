#include "backends/qemu/qemu_host.hpp"

#include <cctype>
#include <cstdlib>

#include "backends/host_overrides.hpp"
#include "backends/qemu/machine.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace backends::qemu {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_qboot = "qboot.rom";
constexpr const char* k_qemu_default_bios = "bios-microvm.bin";  // what QEMU loads for an ACPI microvm

// NAME as QEMU would find it: a path as is, a bare name in the first data dir that has it.
fs::path locate(const std::vector<fs::path>& data_dirs, const fs::path& name) {
  if (name.has_parent_path()) return util::path_exists(name) ? name : fs::path();
  for (const auto& dir : data_dirs)
    if (util::path_exists(dir / name)) return dir / name;
  return {};
}

FirmwareKind kind_of(const fs::path& file) {
  if (file.empty()) return FirmwareKind::Other;
  std::error_code ec;
  fs::path real = fs::canonical(file, ec);
  return (ec ? file : real).filename() == k_qboot ? FirmwareKind::Qboot : FirmwareKind::Other;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

std::string Firmware::describe() const {
  if (kind == FirmwareKind::None) return "none (QEMU loads the kernel itself)";
  std::string what = kind == FirmwareKind::Qboot ? "qboot" : "not qboot";
  if (!bios.empty())
    return bios.string() + " (" + what +
           (resolved.empty()   ? ", not found"
            : resolved == bios ? ""
                               : ", " + resolved.string()) +
           ")";
  return std::string("QEMU's default ") + k_qemu_default_bios + " (" + what + ", " +
         (resolved.empty() ? std::string("not found in its data dirs") : resolved.string()) + ")";
}

fs::path qemu_binary(GuestArch arch) {
  const Machine& m = machine_for(arch);
  if (const auto& chosen = host_overrides().qemu(arch); !chosen.empty()) return chosen;  // m.binary_env
  return util::find_program(m.program);
}

std::string parse_qemu_version(std::string_view out) {
  constexpr std::string_view k_marker = "version ";
  auto pos = out.find(k_marker);
  if (pos == std::string_view::npos) return {};
  pos += k_marker.size();
  size_t end = pos;
  while (end < out.size() && (std::isdigit(static_cast<unsigned char>(out[end])) || out[end] == '.')) ++end;
  std::string v(out.substr(pos, end - pos));
  while (!v.empty() && v.back() == '.') v.pop_back();
  return v.empty() || !std::isdigit(static_cast<unsigned char>(v[0])) ? std::string() : v;
}

std::vector<fs::path> parse_data_dirs(std::string_view out) {
  std::vector<fs::path> dirs;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    std::string_view line = out.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? out.size() : nl + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (!line.empty() && line.front() == '/') dirs.emplace_back(std::string(line));
  }
  return dirs;
}

Firmware choose_firmware(const std::vector<fs::path>& data_dirs, std::string_view override_value) {
  Firmware f;
  if (override_value.empty() || override_value == "auto") {
    if (fs::path qboot = locate(data_dirs, k_qboot); !qboot.empty()) {
      f.bios = qboot;
      f.resolved = qboot;
      f.kind = FirmwareKind::Qboot;
      return f;
    }
    override_value = "qemu";
  }
  if (override_value == "qemu") {
    f.resolved = locate(data_dirs, k_qemu_default_bios);
  } else {
    f.bios = std::string(override_value);
    f.resolved = locate(data_dirs, f.bios);
  }
  f.kind = kind_of(f.resolved);
  return f;
}

uint64_t guest_memory_mib(uint64_t requested_mib, FirmwareKind kind) {
  if (kind == FirmwareKind::Other && requested_mib == k_seabios_bad_mib) return requested_mib + k_seabios_nudge_mib;
  return requested_mib;
}

util::Result<QemuHost> probe_qemu_host(GuestArch arch) {
  const Machine& m = machine_for(arch);
  QemuHost host;
  host.binary = qemu_binary(arch);
  if (host.binary.empty())
    return util::make_error(util::ErrorCode::NotFound, std::string(m.program) + " not found (" + to_string(arch) +
                                                           " guests): apt-get install " + m.debian_package);
  auto version = ML_TRY_CTX(util::run_command({host.binary.string(), "--version"}), "qemu --version");
  if (version.status.code != 0 || version.status.signal != 0)
    return util::make_error(util::ErrorCode::NotFound, host.binary.string() + " --version " +
                                                           version.status.describe() + ": " + first_line(version.err));
  host.version_line = first_line(version.out);
  host.version = parse_qemu_version(version.out);
  auto dirs = ML_TRY_CTX(util::run_command({host.binary.string(), "-L", "help"}), "qemu -L help");
  host.data_dirs = parse_data_dirs(dirs.out);
  if (m.microvm_firmware) {
    host.firmware = choose_firmware(host.data_dirs, host_overrides().firmware);
  } else {
    host.firmware.kind = FirmwareKind::None;
  }
  return host;
}

}  // namespace backends::qemu
