#include "workspace/beneath.hpp"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace workspace {

namespace {

// Returns the fd, or -errno.
int walk(int dirfd, std::string_view rel, int flags, unsigned mode) {
  if (rel.empty() || rel == ".") {
    int fd = ::openat(dirfd, ".", flags | O_CLOEXEC, mode);
    return fd >= 0 ? fd : -errno;
  }
  util::Fd cur;
  int at = dirfd;
  for (;;) {
    size_t slash = rel.find('/');
    std::string comp(rel.substr(0, slash));
    if (!valid_name(comp)) return -EINVAL;
    if (slash == std::string_view::npos) {
      int fd = ::openat(at, comp.c_str(), flags | O_CLOEXEC | O_NOFOLLOW, mode);
      return fd >= 0 ? fd : -errno;
    }
    int next = ::openat(at, comp.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (next < 0) return errno == ENOTDIR ? -ELOOP : -errno;
    cur.reset(next);
    at = cur.get();
    rel.remove_prefix(slash + 1);
  }
}

}  // namespace

bool valid_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.size() <= NAME_MAX &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

namespace {

util::Result<util::Fd> opened(int fd_or_errno, std::string_view rel) {
  if (fd_or_errno >= 0) return util::Fd(fd_or_errno);
  return util::sys_error_code(-fd_or_errno, "open beneath the share", std::string(rel));
}

}  // namespace

util::Result<util::Fd> open_beneath(int dirfd, std::string_view rel, int flags, unsigned mode, Resolver how) {
  if (!rel.empty() && (rel.front() == '/' || rel.back() == '/')) return opened(-EINVAL, rel);
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
    if (fd >= 0) return util::Fd(static_cast<int>(fd));
    if (errno != ENOSYS) return opened(-errno, rel);  // ENOSYS (old kernel, seccomp): the walk below
  }
  return opened(walk(dirfd, rel, flags, mode), rel);
}

}  // namespace workspace
