// The guest's CPU architecture: which agent binary, kernel package, QEMU binary
// and machine a sandbox boots with. Spelled as Debian and OCI spell it ("amd64",
// "arm64"); engine/ maps an image platform ("linux/arm64") onto it.
#pragma once

#include <optional>
#include <string_view>

namespace backends {

enum class GuestArch { Amd64, Arm64 };

const char* to_string(GuestArch arch);
// "amd64" / "x86_64", "arm64" / "aarch64"; nullopt for anything else.
std::optional<GuestArch> parse_guest_arch(std::string_view text);
// The architecture this matchlock was built for.
GuestArch host_arch();

}  // namespace backends
