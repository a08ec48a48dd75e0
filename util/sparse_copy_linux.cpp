// util/sparse_copy.hpp on Linux: FICLONE and copy_file_range.
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/sparse_copy.hpp"

namespace util::detail {

bool clone_whole(int src, int dst) { return ::ioctl(dst, FICLONE, src) == 0; }

ssize_t kernel_copy(int src, off_t* in, int dst, off_t* out, size_t len) {
  return ::copy_file_range(src, in, dst, out, len, 0);
}

}  // namespace util::detail
