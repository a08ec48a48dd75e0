// NodeRef: one inode reached as (parent directory fd, name) without following a symlink, for
// the attribute changes of a FUSE SETATTR. Two implementations (docs/ARCHITECTURE.md,
// "Platform layer"): Linux holds an O_PATH fd and changes the inode through /proc/self/fd/N
// (node_ref_linux.cpp); POSIX (macOS) uses the *at() calls with AT_SYMLINK_NOFOLLOW and, for
// truncate, an O_NOFOLLOW open checked to be the same inode (node_ref_posix.cpp).
// Every call returns 0 or an errno.
#pragma once

#include <sys/stat.h>

#include <string>

#include "util/fd.hpp"

namespace util {

class NodeRef {
 public:
  // NAME in PARENT (which must outlive the ref); NAME empty: PARENT itself. A symlink is the
  // symlink itself.
  static int open(int parent, const std::string& name, NodeRef& out);

  int stat(struct stat& st) const;
  int chmod(mode_t mode) const;
  int truncate(off_t size) const;
  int set_times(const struct timespec times[2]) const;  // utimensat: UTIME_NOW, UTIME_OMIT

 private:
  Fd m_fd;  // Linux: the O_PATH fd; POSIX: unused
  int m_parent = -1;
  std::string m_name;
  dev_t m_dev = 0;
  ino_t m_ino = 0;
};

}  // namespace util
