// File calls whose Linux form has no portable equivalent, taking Linux's flag values (the
// values a Linux guest sends over FUSE). Two implementations (docs/ARCHITECTURE.md, "Platform
// layer"): file_calls_linux.cpp (renameat2, fallocate) and file_calls_posix.cpp (renameat;
// renameatx_np on macOS for the flags; posix_fallocate for mode 0 where the system has it).
// Each returns 0 or an errno.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace util {

// Linux's RENAME_NOREPLACE and RENAME_EXCHANGE (<linux/fs.h>).
constexpr uint32_t k_rename_noreplace = 1;
constexpr uint32_t k_rename_exchange = 2;

// renameat2: FLAGS is 0 or one of the two above. Where the system cannot honour a flag
// atomically the call fails with EINVAL (what Linux says for an unsupported flag) and
// renames nothing.
int rename_at(int olddir, const char* oldname, int newdir, const char* newname, uint32_t flags);

// fallocate: MODE as Linux's FALLOC_FL_* bits. Where a mode is unsupported: EOPNOTSUPP.
int allocate_space(int fd, uint32_t mode, off_t offset, off_t length);

}  // namespace util
