#include "oci/platform.hpp"

#include <sys/utsname.h>

#include <vector>

namespace oci {

namespace {
std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

bool valid_part(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-')) return false;
  return true;
}
}  // namespace

util::Result<Platform> Platform::parse(std::string_view text) {
  auto parts = split(text, '/');
  Platform p;
  auto bad = [&](std::string_view why) {
    return util::make_error(util::ErrorCode::Usage, "invalid platform \"" + std::string(text) +
                                                        "\": " + std::string(why) +
                                                        " (expected OS/ARCH[/VARIANT], e.g. linux/arm64)");
  };
  for (const auto& part : parts)
    if (!valid_part(part)) return bad("empty or invalid component");
  if (parts.size() == 1) {
    p.architecture = parts[0];
  } else if (parts.size() <= 3) {
    p.os = parts[0];
    p.architecture = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
  } else {
    return bad("too many components");
  }
  if (p.architecture == "x86_64") p.architecture = "amd64";
  if (p.architecture == "aarch64") p.architecture = "arm64";
  return p;
}

Platform Platform::host() {
  Platform p;
  utsname u{};
  if (::uname(&u) == 0) {
    std::string m = u.machine;
    if (m == "x86_64")
      p.architecture = "amd64";
    else if (m == "aarch64" || m == "arm64")
      p.architecture = "arm64";
    else if (m == "riscv64")
      p.architecture = "riscv64";
    else if (m == "ppc64le")
      p.architecture = "ppc64le";
    else if (m == "s390x")
      p.architecture = "s390x";
    else if (m.starts_with("armv7")) {
      p.architecture = "arm";
      p.variant = "v7";
    } else
      p.architecture = m;
  }
  return p;
}

std::string Platform::to_string() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

bool Platform::matches(const Platform& other) const {
  if (os != other.os || architecture != other.architecture) return false;
  if (variant.empty()) return true;
  if (variant == other.variant) return true;
  return architecture == "arm64" && variant == "v8" && other.variant.empty();
}

}  // namespace oci
