// util/process_info.hpp on POSIX: sysctl on macOS; elsewhere kill(pid, 0) and no settings.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#if defined(__APPLE__)
#include <mach-o/dyld.h>
#include <sys/sysctl.h>
#endif

#include "util/fd.hpp"
#include "util/process_info.hpp"

namespace util {

Result<std::string> self_executable() {
#if defined(__APPLE__)
  char buf[PATH_MAX];
  uint32_t size = sizeof buf;
  if (_NSGetExecutablePath(buf, &size) != 0) return make_error(ErrorCode::Io, "_NSGetExecutablePath: path too long");
  char real[PATH_MAX];
  if (!::realpath(buf, real)) return sys_error("realpath", buf);
  return std::string(real);
#else
  return sys_error_code(ENOSYS, "the running executable's path");
#endif
}

uint64_t process_start_time(pid_t pid) {
  if (pid <= 0) return 0;
#if defined(__APPLE__)
  int mib[4] = {CTL_KERN, KERN_PROC, KERN_PROC_PID, pid};
  struct kinfo_proc info {};
  size_t len = sizeof info;
  if (::sysctl(mib, 4, &info, &len, nullptr, 0) != 0 || len == 0) return 0;
  if (info.kp_proc.p_stat == SZOMB) return 0;
  const auto& t = info.kp_proc.p_starttime;
  return static_cast<uint64_t>(t.tv_sec) * 1000000 + static_cast<uint64_t>(t.tv_usec);
#else
  return ::kill(pid, 0) == 0 || errno == EPERM ? 1 : 0;
#endif
}

std::string kernel_setting(std::string_view) { return {}; }  // macOS's settings have other names

}  // namespace util
