// VmSpec for the Virtualization.framework backend (backends/vz/vz_vm.hpp) and the checks made
// before any VZ object exists. Plain C++, compiled and unit-tested on every host (the VZ code
// itself is built only on Apple): what VZ would refuse late and vaguely is refused here early,
// naming the field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace backends::vz {

enum class DiskAccess { ReadOnly, ReadWrite };

struct Disk {
  std::filesystem::path path;  // raw image (VZDiskImageStorageDeviceAttachment takes raw only)
  std::string serial;          // virtio-blk device ID (blockDeviceIdentifier): the agent finds disks by it
  DiskAccess access = DiskAccess::ReadOnly;
};

struct VmSpec {
  std::filesystem::path kernel;     // an uncompressed arm64 Image (VZLinuxBootLoader boots nothing else)
  std::filesystem::path initramfs;  // backends/initramfs.hpp
  std::string extra_cmdline;        // appended to k_cmdline (the engine puts the control transport here)
  int cpus = 1;
  uint64_t memory_mib = 512;
  std::vector<Disk> disks;
  // The vsock port the agent listens on (the host connects: VzVm::connect_control).
  uint32_t control_port = 0;
  // The NIC: one end of a connected SOCK_DGRAM socketpair (borrowed; dup'ed by VzVm::start),
  // one Ethernet frame per datagram, buffers sized by net::set_datagram_buffers. -1: no NIC.
  int net_fd = -1;
  std::string net_mac = "52:54:00:6d:6c:02";
  std::filesystem::path state_dir;  // must exist; console.log is written there
};

// hvc0: the virtio console VZ offers (VZVirtioConsoleDeviceSerialPortConfiguration).
// panic=-1: a panicking guest reboots at once, which VZ reports as the guest stopping.
inline constexpr const char* k_cmdline = "console=hvc0 panic=-1 quiet rdinit=/init";
// virtio-blk's device ID field (VIRTIO_BLK_ID_BYTES); VZ refuses longer identifiers.
inline constexpr size_t k_max_disk_serial = 20;
// VZ's minimum guest memory (VZVirtualMachineConfiguration.minimumAllowedMemorySize is 128 MiB
// on every macOS so far; VzVm::start checks the real bounds too).
inline constexpr uint64_t k_min_memory_mib = 128;
inline constexpr const char* k_console_log = "console.log";

// The kernel command line VZLinuxBootLoader gets.
std::string kernel_cmdline(const VmSpec& spec);
// Checks SPEC without VZ: the kernel is an arm64 Image (not gzip, not EFI zboot), the
// initramfs and disks exist, serials fit and are printable ASCII and unique, memory and CPUs
// are in range, the control port is set. Every problem is reported, not just the first.
util::Result<void> check_spec(const VmSpec& spec);

}  // namespace backends::vz
