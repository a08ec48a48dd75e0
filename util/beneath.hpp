// Opening paths strictly beneath a directory fd, no symlink ever followed, so a symlink (or a
// directory swapped for one) cannot lead out. Two implementations (docs/ARCHITECTURE.md,
// "Platform layer"): Linux asks the kernel, openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
// RESOLVE_NO_SYMLINKS) (beneath_openat2.cpp, with the walk below where openat2 is ENOSYS);
// POSIX (macOS) walks one component at a time, each an openat(O_NOFOLLOW) on the previous
// step's fd (beneath_walk.cpp). Both refuse the same inputs with the same errno first
// (beneath.cpp), and the same escape tests run against both (workspace_tests,
// workspace_posix_tests).
#pragma once

#include <string>
#include <string_view>

#include "util/fd.hpp"

namespace util {

enum class Resolver { Auto, ComponentWalk };  // ComponentWalk: the walk even where openat2 exists

// The open flags of a directory fd used only as the base of *at() calls: O_PATH | O_DIRECTORY
// on Linux (no read permission needed), O_SEARCH | O_DIRECTORY or O_RDONLY | O_DIRECTORY
// elsewhere.
int dir_ref_flags();

// Opens PATH (absolute or relative to the working directory, symlinks followed: the host's own
// choice of directory) as a directory ref (dir_ref_flags()).
Result<Fd> open_dir_ref(const std::string& path);

// Opens REL ("a/b/c", "" or "." = the dir itself) beneath DIRFD with open FLAGS
// (O_CLOEXEC and O_NOFOLLOW are added). An error carries the errno (sys_errno()):
// ELOOP for any symlink on the way, ENOTDIR for a non-directory on the way, EINVAL for a bad
// REL (a leading or trailing '/', an empty, "." or ".." component after the first, a NUL),
// ENAMETOOLONG for a component over NAME_MAX or a REL of PATH_MAX bytes or more.
Result<Fd> open_beneath(int dirfd, std::string_view rel, int flags, unsigned mode = 0, Resolver how = Resolver::Auto);
// open_beneath(DIRFD, REL, dir_ref_flags()).
Result<Fd> open_dir_beneath(int dirfd, std::string_view rel);

// A single path component the server accepts from the guest: not empty, not
// "." or "..", no '/', no NUL, at most NAME_MAX bytes.
bool valid_name(std::string_view name);

namespace detail {
// The checks open_beneath makes before either implementation runs: 0 or an errno.
int check_beneath_path(std::string_view rel);
// The component walk: the fd, or -errno. DIR_FLAGS open each intermediate directory.
int walk_beneath(int dirfd, std::string_view rel, int flags, unsigned mode, int dir_flags);
// Implementation-specific: the fd, or -errno, for a REL that passed check_beneath_path.
int open_beneath_checked(int dirfd, std::string_view rel, int flags, unsigned mode, Resolver how);
}  // namespace detail

}  // namespace util
