// QemuHost: the QEMU we run and what it boots a microvm with: its binary
// (MATCHLOCK_QEMU, else PATH), its version, its firmware search directories
// (`qemu -L help`) and the microvm firmware we choose.
//
// The firmware matters (docs/ARCHITECTURE.md, "QEMU versions"). QEMU boots an
// ACPI microvm with `bios-microvm.bin`. Debian 12 (QEMU 7.2) links that name to
// qboot; Debian 13 and bookworm-backports (QEMU 10) take it from SeaBIOS. SeaBIOS
// keeps its tables and virtio-blk rings in the top pages of RAM below 4 GiB.
// When the guest has exactly 2 GiB there, QEMU's linuxboot_dma option ROM
// leaves the initrd flush against that top (it only moves it below the BIOS's
// memory when the initrd does not end at the kernel's initrd_addr_max,
// 0x7fffffff), and the kernel's EDD probe (int 13h) makes SeaBIOS read a disk
// through rings that now hold the initrd's last bytes: the last module's
// signature is overwritten (finit_module: EKEYREJECTED), or the boot hangs.
// So we boot qboot when QEMU has it, and otherwise never give SeaBIOS a 2 GiB
// guest (guest_memory_mib).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "backends/guest_arch.hpp"
#include "util/result.hpp"

namespace backends::qemu {

// None: the arm64 virt machine, where QEMU loads the kernel itself (machine.hpp).
enum class FirmwareKind { Qboot, Other, None };

struct Firmware {
  std::filesystem::path bios;  // passed as -bios; empty: QEMU's own default (bios-microvm.bin)
  FirmwareKind kind = FirmwareKind::Other;
  std::filesystem::path resolved;  // the file it comes from, when found ("" if not)
  std::string describe() const;
};

struct QemuHost {
  std::filesystem::path binary;
  std::string version_line;  // first line of `qemu --version`
  std::string version;       // "10.0.2"; "" when the line has no version
  std::vector<std::filesystem::path> data_dirs;
  Firmware firmware;
  // Names the binary and its version: a cached fact about one QEMU (the KVM
  // probe) is stale for another.
  std::string identity() const { return binary.string() + " " + version_line; }
};

// The QEMU for ARCH's guests: MATCHLOCK_QEMU (amd64) or MATCHLOCK_QEMU_ARM64 when set,
// else qemu-system-x86_64 / qemu-system-aarch64 in PATH; empty if neither.
std::filesystem::path qemu_binary(GuestArch arch = host_arch());

// Runs `BINARY --version` and `BINARY -L help` and chooses the firmware
// (MATCHLOCK_QEMU_FIRMWARE: "auto" (default), "qemu" (QEMU's default), or a
// file name or path given to -bios). arm64's virt machine boots without one.
util::Result<QemuHost> probe_qemu_host(GuestArch arch = host_arch());

// "QEMU emulator version 10.0.2 (Debian ...)" -> "10.0.2"; "" if none.
std::string parse_qemu_version(std::string_view version_output);
// `qemu -L help` output: one directory per line.
std::vector<std::filesystem::path> parse_data_dirs(std::string_view output);

// qboot.rom from DATA_DIRS when OVERRIDE is "" or "auto" and QEMU has it;
// otherwise QEMU's default or the named file, with its kind found by following
// symlinks in DATA_DIRS (Debian 12's bios-microvm.bin is qboot.rom).
Firmware choose_firmware(const std::vector<std::filesystem::path>& data_dirs, std::string_view override_value);

inline constexpr uint64_t k_seabios_bad_mib = 2048;  // below-4G RAM that puts the initrd on SeaBIOS's pages
inline constexpr uint64_t k_seabios_nudge_mib = 2;
// The RAM we give QEMU for REQUESTED MiB: REQUESTED, except that a 2 GiB microvm
// under a firmware other than qboot gets 2 MiB more (see the header comment).
uint64_t guest_memory_mib(uint64_t requested_mib, FirmwareKind kind);

}  // namespace backends::qemu
