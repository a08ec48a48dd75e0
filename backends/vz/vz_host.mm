// probe_vz_host (vz_host.hpp): what VZ allows on this Mac, and whether this binary is signed
// with the virtualization entitlement. EXPERIMENTAL: compiled on no machine of this project yet.
#import <Foundation/Foundation.h>
#import <Security/Security.h>
#import <Virtualization/Virtualization.h>

#include "backends/vz/vz_host.hpp"

namespace backends::vz {

VzHost probe_vz_host() {
  VzHost h;
  @autoreleasepool {
    h.supported = VZVirtualMachine.isSupported;
    h.min_cpus = static_cast<int>(VZVirtualMachineConfiguration.minimumAllowedCPUCount);
    h.max_cpus = static_cast<int>(VZVirtualMachineConfiguration.maximumAllowedCPUCount);
    h.min_memory = VZVirtualMachineConfiguration.minimumAllowedMemorySize;
    h.max_memory = VZVirtualMachineConfiguration.maximumAllowedMemorySize;
    h.os_version = NSProcessInfo.processInfo.operatingSystemVersionString.UTF8String;

    // The entitlement as the kernel sees it on this process (what codesign put in, if anything).
    SecTaskRef task = SecTaskCreateFromSelf(kCFAllocatorDefault);
    if (!task) {
      h.entitlement_detail = "SecTaskCreateFromSelf failed";
      return h;
    }
    CFErrorRef error = nullptr;
    CFStringRef key = CFStringCreateWithCString(kCFAllocatorDefault, k_vz_entitlement, kCFStringEncodingUTF8);
    CFTypeRef value = SecTaskCopyValueForEntitlement(task, key, &error);
    h.entitled =
        value && CFGetTypeID(value) == CFBooleanGetTypeID() && CFBooleanGetValue(static_cast<CFBooleanRef>(value));
    if (!h.entitled)
      h.entitlement_detail = std::string("this binary is not signed with ") + k_vz_entitlement +
                             ": codesign --entitlements backends/vz/matchlock.entitlements -s - build/matchlock";
    if (value) CFRelease(value);
    if (error) CFRelease(error);
    CFRelease(key);
    CFRelease(task);
  }
  return h;
}

}  // namespace backends::vz
