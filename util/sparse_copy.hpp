// Copying a file's data without filling its holes. Common part (sparse_copy.cpp): the
// SEEK_DATA/SEEK_HOLE walk with pread/pwrite; the platform parts (docs/ARCHITECTURE.md,
// "Platform layer"): Linux first tries a reflink (FICLONE) and copies ranges in the kernel
// (copy_file_range) (sparse_copy_linux.cpp); POSIX (macOS) has neither on an open fd and
// always takes the pread/pwrite path (sparse_copy_posix.cpp).
#pragma once

#include <sys/types.h>

#include "util/result.hpp"

namespace util {

// Makes DST (open for writing, empty) a copy of SRC with SRC's holes.
Result<void> copy_sparse(int src, int dst);

namespace detail {
// A reflink of the whole of SRC into DST: true when done.
bool clone_whole(int src, int dst);
// Copies up to LEN bytes in the kernel from *IN to *OUT, advancing both: the bytes copied,
// 0 at end of file, -1 with errno (ENOSYS, EXDEV, EINVAL, EOPNOTSUPP: take the read/write path).
ssize_t kernel_copy(int src, off_t* in, int dst, off_t* out, size_t len);
}  // namespace detail

}  // namespace util
