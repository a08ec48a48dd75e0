// What this Mac offers Virtualization.framework (macOS only; vz_host.mm): for `matchlock doctor`.
#pragma once

#include <cstdint>
#include <string>

namespace backends::vz {

struct VzHost {
  bool supported = false;                   // VZVirtualMachine.isSupported (Apple Silicon or a VT-x Mac, not nested)
  bool entitled = false;                    // this binary carries com.apple.security.virtualization (codesign)
  std::string entitlement_detail;           // why not, when not
  int min_cpus = 0, max_cpus = 0;           // VZVirtualMachineConfiguration.{minimum,maximum}AllowedCPUCount
  uint64_t min_memory = 0, max_memory = 0;  // ...AllowedMemorySize, bytes
  std::string os_version;                   // NSProcessInfo.operatingSystemVersionString
};

inline constexpr const char* k_vz_entitlement = "com.apple.security.virtualization";

VzHost probe_vz_host();

}  // namespace backends::vz
