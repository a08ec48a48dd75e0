#include "backends/qemu/machine.hpp"

namespace backends::qemu {

namespace {

constexpr Machine k_microvm{GuestArch::Amd64,
                            "qemu-system-x86_64",
                            "MATCHLOCK_QEMU",
                            "qemu-system-x86",
                            "microvm,rtc=off",
                            "max",
                            k_base_cmdline,
                            "-device",
                            true,
                            true};
constexpr Machine k_virt{GuestArch::Arm64,
                         "qemu-system-aarch64",
                         "MATCHLOCK_QEMU_ARM64",
                         "qemu-system-arm",
                         "virt,gic-version=max",
                         "max,pauth=off",
                         k_arm64_cmdline,
                         "-pci",
                         false,
                         false};

}  // namespace

const Machine& machine_for(GuestArch arch) { return arch == GuestArch::Arm64 ? k_virt : k_microvm; }

}  // namespace backends::qemu
