// The platform a sandbox boots and the guest architecture it needs: `--platform`,
// else [sandbox].platform, else the host's. matchlock boots linux/amd64 (x86-64
// microvm) and linux/arm64 (QEMU's virt machine; later Virtualization.framework)
// guests; the image's variant for that platform is the one pulled and locked.
#pragma once

#include <string_view>

#include "backends/guest_arch.hpp"
#include "engine/config.hpp"
#include "oci/platform.hpp"
#include "util/result.hpp"

namespace engine {

struct GuestPlatform {
  oci::Platform platform;  // what the image is pulled and locked for
  backends::GuestArch arch;
};

// REQUESTED ("" = CONFIG's [sandbox].platform, else the host's). CONFIG may be null
// (--image alone). Errors name --platform or the Matchlockfile's line.
util::Result<GuestPlatform> guest_platform(std::string_view requested, const Config* config);

// linux/amd64 -> Amd64, linux/arm64[/v8] -> Arm64; any other platform is an error.
util::Result<backends::GuestArch> guest_arch(const oci::Platform& platform);

}  // namespace engine
