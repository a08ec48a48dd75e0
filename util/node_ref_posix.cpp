// util/node_ref.hpp on POSIX (macOS): no O_PATH and no /proc, so each change is an *at() call
// on (parent, name) that does not follow a final symlink: fchmodat/utimensat with
// AT_SYMLINK_NOFOLLOW, and truncate through an O_WRONLY|O_NOFOLLOW open whose inode must be the
// one resolved at open(). A name swapped in between can only name another entry in the same
// directory, never a symlink's target.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "util/node_ref.hpp"

namespace util {

namespace {

const char* at_name(const std::string& name) { return name.empty() ? "." : name.c_str(); }
int nofollow(const std::string& name) { return name.empty() ? 0 : AT_SYMLINK_NOFOLLOW; }

}  // namespace

int NodeRef::open(int parent, const std::string& name, NodeRef& out) {
  struct stat st;
  if (::fstatat(parent, at_name(name), &st, nofollow(name)) < 0) return errno;
  out.m_parent = parent;
  out.m_name = name;
  out.m_dev = st.st_dev;
  out.m_ino = st.st_ino;
  return 0;
}

int NodeRef::stat(struct stat& st) const {
  if (::fstatat(m_parent, at_name(m_name), &st, nofollow(m_name)) < 0) return errno;
  return st.st_dev == m_dev && st.st_ino == m_ino ? 0 : ENOENT;  // replaced: the node is gone
}

int NodeRef::chmod(mode_t mode) const {
  return ::fchmodat(m_parent, at_name(m_name), mode, nofollow(m_name)) < 0 ? errno : 0;
}

int NodeRef::truncate(off_t size) const {
  int fd = ::openat(m_parent, at_name(m_name), O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return errno;
  Fd owned(fd);
  struct stat st;
  if (::fstat(fd, &st) < 0) return errno;
  if (st.st_dev != m_dev || st.st_ino != m_ino) return ENOENT;
  if (!S_ISREG(st.st_mode)) return EINVAL;
  return ::ftruncate(fd, size) < 0 ? errno : 0;
}

int NodeRef::set_times(const struct timespec times[2]) const {
  return ::utimensat(m_parent, at_name(m_name), times, nofollow(m_name)) < 0 ? errno : 0;
}

}  // namespace util
