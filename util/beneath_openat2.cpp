// open_beneath on Linux: openat2 with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
// RESOLVE_NO_SYMLINKS; the component walk where the kernel (or a seccomp filter) says ENOSYS.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "util/beneath.hpp"

namespace util {

int dir_ref_flags() { return O_PATH | O_DIRECTORY; }

namespace detail {

int open_beneath_checked(int dirfd, std::string_view rel, int flags, unsigned mode, Resolver how) {
  if (how == Resolver::Auto) {
    open_how h{};
    h.flags = static_cast<uint64_t>(flags | O_CLOEXEC | O_NOFOLLOW);
    h.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    h.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;
    std::string path = rel.empty() ? std::string(".") : std::string(rel);
    long fd;
    do {
      fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &h, sizeof h);
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != ENOSYS) return -errno;  // ENOSYS (old kernel, seccomp): the walk below
  }
  return walk_beneath(dirfd, rel, flags, mode, O_PATH);
}

}  // namespace detail

}  // namespace util
