#include "backends/host_overrides.hpp"

#include <cstdlib>

namespace backends {

HostOverrides parse_host_overrides(const char* (*getenv)(const char*)) {
  auto get = [&](const char* name) -> std::string {
    const char* v = getenv(name);
    return v ? v : "";
  };
  HostOverrides o;
  o.qemu_amd64 = get("MATCHLOCK_QEMU");
  o.qemu_arm64 = get("MATCHLOCK_QEMU_ARM64");
  o.firmware = get("MATCHLOCK_QEMU_FIRMWARE");
  o.accel = get("MATCHLOCK_ACCEL");
  o.agent_amd64 = get("MATCHLOCK_AGENT");
  o.agent_arm64 = get("MATCHLOCK_AGENT_ARM64");
  return o;
}

const HostOverrides& host_overrides() {
  static const HostOverrides parsed =
      parse_host_overrides([](const char* name) -> const char* { return std::getenv(name); });
  return parsed;
}

}  // namespace backends
