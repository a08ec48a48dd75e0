// util/sparse_copy.hpp on POSIX (macOS): no reflink into an open fd, no kernel range copy.
#include <cerrno>

#include "util/sparse_copy.hpp"

namespace util::detail {

bool clone_whole(int, int) { return false; }

ssize_t kernel_copy(int, off_t*, int, off_t*, size_t) {
  errno = ENOSYS;
  return -1;
}

}  // namespace util::detail
