// What the host says about processes and itself, which Linux reads from /proc. Two
// implementations (docs/ARCHITECTURE.md, "Platform layer"): process_info_linux.cpp reads
// /proc; process_info_posix.cpp asks macOS (_NSGetExecutablePath, sysctl KERN_PROC), and
// elsewhere answers what POSIX can (kill(pid, 0)) or "unknown".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace util {

// The running executable's absolute path (Linux: /proc/self/exe).
Result<std::string> self_executable();

// An opaque start time of PID (Linux: clock ticks since boot, /proc/PID/stat field 22), equal
// for the same process and different for a later one with the same number; 0 when PID is gone
// or a zombie. Where the system cannot tell start times, 1 for any live PID.
uint64_t process_start_time(pid_t pid);

// A Linux kernel setting by its sysctl name ("user.max_user_namespaces"), trimmed; "" where
// the system has no such setting (always on macOS).
std::string kernel_setting(std::string_view name);

}  // namespace util
