// util/file_calls.hpp on POSIX (macOS): renameat, with renameatx_np(RENAME_EXCL / RENAME_SWAP)
// for Linux's RENAME_NOREPLACE / RENAME_EXCHANGE on Apple and EINVAL for them elsewhere (a
// check-then-rename would not be atomic); posix_fallocate for mode 0 where the system has it.
#include <fcntl.h>
#include <stdio.h>

#include <cerrno>

#include "util/file_calls.hpp"

namespace util {

int rename_at(int olddir, const char* oldname, int newdir, const char* newname, uint32_t flags) {
  if (flags == 0) return ::renameat(olddir, oldname, newdir, newname) < 0 ? errno : 0;
#if defined(__APPLE__)
  unsigned apple = flags == k_rename_noreplace ? RENAME_EXCL : flags == k_rename_exchange ? RENAME_SWAP : 0;
  if (apple == 0) return EINVAL;
  return ::renameatx_np(olddir, oldname, newdir, newname, apple) < 0 ? errno : 0;
#else
  (void)olddir, (void)oldname, (void)newdir, (void)newname;
  return EINVAL;
#endif
}

int allocate_space(int fd, uint32_t mode, off_t offset, off_t length) {
  if (mode != 0) return EOPNOTSUPP;
#if defined(__APPLE__)
  (void)fd, (void)offset, (void)length;
  return EOPNOTSUPP;
#else
  return ::posix_fallocate(fd, offset, length);  // returns the error, not -1
#endif
}

}  // namespace util
