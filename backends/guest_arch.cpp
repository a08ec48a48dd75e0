#include "backends/guest_arch.hpp"

namespace backends {

const char* to_string(GuestArch arch) { return arch == GuestArch::Arm64 ? "arm64" : "amd64"; }

std::optional<GuestArch> parse_guest_arch(std::string_view text) {
  if (text == "amd64" || text == "x86_64") return GuestArch::Amd64;
  if (text == "arm64" || text == "aarch64") return GuestArch::Arm64;
  return std::nullopt;
}

GuestArch host_arch() {
#if defined(__aarch64__)
  return GuestArch::Arm64;
#else
  return GuestArch::Amd64;
#endif
}

}  // namespace backends
