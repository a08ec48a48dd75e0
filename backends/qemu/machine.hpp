// What differs between the two machines matchlock boots: the x86-64 `microvm`
// (virtio-mmio devices, qboot/SeaBIOS firmware, ttyS0) and the arm64 `virt` machine
// (virtio-pci devices as Virtualization.framework offers them, no firmware: QEMU
// loads the Image itself, PL011 console ttyAMA0). Everything else in a VmSpec
// (disks by serial, the control port, the NIC, virtio-fs) is the same on both.
#pragma once

#include <string>
#include <string_view>

#include "backends/guest_arch.hpp"

namespace backends::qemu {

// edd=off: the kernel's setup code would ask the firmware to read every disk
// (int 13h) after the initrd is in place; under SeaBIOS that is disk I/O through
// rings in firmware memory (qemu_host.hpp), and it costs boot time for nothing.
inline constexpr const char* k_base_cmdline = "console=ttyS0 reboot=t panic=-1 quiet edd=off rdinit=/init";
// arm64: PL011 console; panic=-1 reboots, which -no-reboot turns into QEMU's exit.
inline constexpr const char* k_arm64_cmdline = "console=ttyAMA0 panic=-1 quiet rdinit=/init";

struct Machine {
  GuestArch arch;
  const char* program;         // the QEMU binary looked up in PATH
  const char* binary_env;      // the variable that names another one
  const char* debian_package;  // where Debian ships that binary
  const char* machine;         // -M value (",memory-backend=ram" is appended for virtio-fs)
  // -cpu under TCG. arm64: `max` has RNDR (the kernel's RNG seeds at once); pointer
  // authentication is off because emulating it costs more than the rest of the boot
  // (measured on the 2-core CI machine, kernel + agent to power-off, max vs
  // max,pauth=off: 55 s vs 11 s guest time; with pauth-impdef=on still 18-23 s vs 10-15 s).
  // PAC hardens the guest against its own bugs; the boundary here is the VM. KVM
  // guests get `host`, with whatever the CPU has.
  const char* tcg_cpu;
  const char* cmdline;        // the kernel command line before extra_cmdline
  const char* virtio_suffix;  // "-device" (virtio-mmio) or "-pci"
  bool microvm_firmware;      // qboot/SeaBIOS and guest_memory_mib apply (qemu_host.hpp)
  bool tcg_tsc;               // k_tcg_cmdline applies (x86 TSC under TCG, qemu_vm.hpp)

  // "virtio-blk" -> "virtio-blk-device" (microvm) or "virtio-blk-pci" (virt).
  std::string virtio(std::string_view device) const { return std::string(device) + virtio_suffix; }
};

const Machine& machine_for(GuestArch arch);

}  // namespace backends::qemu
