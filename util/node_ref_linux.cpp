// util/node_ref.hpp on Linux: an O_PATH fd names exactly the inode resolved (no symlink
// followed); /proc/self/fd/N reaches that inode for the calls that take no fd.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "util/node_ref.hpp"

namespace util {

namespace {

std::string proc_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

}  // namespace

int NodeRef::open(int parent, const std::string& name, NodeRef& out) {
  int fd = name.empty() ? ::openat(parent, ".", O_PATH | O_CLOEXEC)
                        : ::openat(parent, name.c_str(), O_PATH | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno;
  out.m_fd = Fd(fd);
  out.m_parent = parent;
  out.m_name = name;
  return 0;
}

int NodeRef::stat(struct stat& st) const { return ::fstat(m_fd.get(), &st) < 0 ? errno : 0; }

int NodeRef::chmod(mode_t mode) const { return ::chmod(proc_path(m_fd.get()).c_str(), mode) < 0 ? errno : 0; }

int NodeRef::truncate(off_t size) const { return ::truncate(proc_path(m_fd.get()).c_str(), size) < 0 ? errno : 0; }

int NodeRef::set_times(const struct timespec times[2]) const {
  int r = m_name.empty() ? ::utimensat(AT_FDCWD, proc_path(m_fd.get()).c_str(), times, 0)
                         : ::utimensat(m_parent, m_name.c_str(), times, AT_SYMLINK_NOFOLLOW);
  return r < 0 ? errno : 0;
}

}  // namespace util
