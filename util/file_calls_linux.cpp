// util/file_calls.hpp on Linux: renameat2 and fallocate, flags passed through.
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>

#include <cerrno>

#include "util/file_calls.hpp"

namespace util {

static_assert(k_rename_noreplace == RENAME_NOREPLACE && k_rename_exchange == RENAME_EXCHANGE);

int rename_at(int olddir, const char* oldname, int newdir, const char* newname, uint32_t flags) {
  return ::renameat2(olddir, oldname, newdir, newname, flags) < 0 ? errno : 0;
}

int allocate_space(int fd, uint32_t mode, off_t offset, off_t length) {
  return ::fallocate(fd, static_cast<int>(mode), offset, length) < 0 ? errno : 0;
}

}  // namespace util
