// util/sparse_copy.hpp: the hole-preserving walk both platforms share.
#include "util/sparse_copy.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "util/fd.hpp"

namespace util {

namespace {

Result<void> copy_range(int src, int dst, off_t start, off_t end) {
  off_t in = start, out = start;
  while (in < end) {
    ssize_t n = detail::kernel_copy(src, &in, dst, &out, static_cast<size_t>(end - in));
    if (n > 0) continue;
    if (n == 0) return make_error(ErrorCode::Io, "copy_file_range: unexpected end of file");  // linux-only-ok: message
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
      return sys_error("copy_file_range");  // linux-only-ok: message
    std::string buf(1 << 20, '\0');         // no kernel copy here: plain reads and writes
    while (in < end) {
      ssize_t r = ::pread(src, buf.data(), std::min<size_t>(buf.size(), static_cast<size_t>(end - in)), in);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return r == 0 ? make_error(ErrorCode::Io, "read: unexpected end of file") : sys_error("pread");
      for (ssize_t done = 0; done < r;) {
        ssize_t w = ::pwrite(dst, buf.data() + done, static_cast<size_t>(r - done), in + done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return sys_error("pwrite");
        done += w;
      }
      in += r;
    }
  }
  return ok();
}

}  // namespace

Result<void> copy_sparse(int src, int dst) {
  if (detail::clone_whole(src, dst)) return ok();
  struct stat st {};
  if (::fstat(src, &st) < 0) return sys_error("fstat");
  off_t off = 0;
  while (off < st.st_size) {
    off_t data = ::lseek(src, off, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole is left
      return sys_error("lseek SEEK_DATA");
    }
    off_t hole = ::lseek(src, data, SEEK_HOLE);
    if (hole < 0) return sys_error("lseek SEEK_HOLE");
    ML_TRY(copy_range(src, dst, data, hole));
    off = hole;
  }
  if (::ftruncate(dst, st.st_size) < 0) return sys_error("ftruncate");
  return ok();
}

}  // namespace util
