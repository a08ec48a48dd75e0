// Opening paths strictly beneath a directory fd: openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS), or, where the kernel lacks
// openat2 (ENOSYS), a component walk with O_NOFOLLOW. No symlink is ever
// followed, so a symlink (or a directory swapped for one) cannot lead out.
#pragma once

#include <string>
#include <string_view>

#include "util/fd.hpp"

namespace workspace {

enum class Resolver { Auto, ComponentWalk };  // ComponentWalk: the fallback, for tests

// Opens REL ("a/b/c", "" or "." = the dir itself) beneath DIRFD with open FLAGS
// (O_CLOEXEC and O_NOFOLLOW are added). An error carries the errno (sys_errno()):
// ELOOP for any symlink on the way, EXDEV/ELOOP for an escape, EINVAL for a bad REL.
// REL must not contain "..", empty components or a leading '/': the caller
// validates names (see valid_name).
util::Result<util::Fd> open_beneath(int dirfd, std::string_view rel, int flags, unsigned mode = 0,
                                    Resolver how = Resolver::Auto);

// A single path component the server accepts from the guest: not empty, not
// "." or "..", no '/', no NUL, at most NAME_MAX bytes.
bool valid_name(std::string_view name);

}  // namespace workspace
