#include "engine/guest_platform.hpp"

namespace engine {

util::Result<GuestPlatform> guest_platform(std::string_view requested, const Config* config) {
  std::string_view text = requested;
  std::string where = "--platform";
  if (text.empty() && config && !config->sandbox.platform.empty()) {
    text = config->sandbox.platform;
    where = config->where("sandbox.platform");
  }
  if (text.empty()) {
    oci::Platform host = oci::Platform::host();
    return GuestPlatform{host, ML_TRY_CTX(guest_arch(host), "the host's platform")};
  }
  oci::Platform platform = ML_TRY_CTX(oci::Platform::parse(text), where);
  return GuestPlatform{platform, ML_TRY_CTX(guest_arch(platform), where)};
}

util::Result<backends::GuestArch> guest_arch(const oci::Platform& platform) {
  auto arch = backends::parse_guest_arch(platform.architecture);
  bool arm64_variant = platform.variant.empty() || platform.variant == "v8";
  if (platform.os != "linux" || !arch || (*arch == backends::GuestArch::Arm64 && !arm64_variant) ||
      (*arch == backends::GuestArch::Amd64 && !platform.variant.empty()))
    return util::make_error(util::ErrorCode::Unsupported, "platform " + platform.to_string() +
                                                              ": matchlock boots linux/amd64 and linux/arm64 guests");
  return *arch;
}

}  // namespace engine
