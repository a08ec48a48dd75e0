// Kernel image formats: which architecture an image file boots, and the arm64
// `Image` a bundle keeps (Virtualization.framework's VZLinuxBootLoader and QEMU's
// virt machine load it as is; Debian may ship it gzip-compressed as vmlinuz).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "backends/guest_arch.hpp"
#include "util/result.hpp"

namespace backends {

// From the first 0x210 bytes or more: an arm64 Image ("ARM\x64" at 0x38) or an x86
// bzImage ("HdrS" at 0x202); nullopt for anything else (compressed, EFI zboot, garbage).
std::optional<GuestArch> sniff_kernel_image(std::string_view head);

// VMLINUZ as an uncompressed arm64 Image: itself when it already is one, gunzipped
// when it is gzip; anything else (EFI zboot, another architecture) is an error naming WHAT.
util::Result<std::string> arm64_image(std::string vmlinuz, const std::string& what);

}  // namespace backends
