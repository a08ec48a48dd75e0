// open_beneath on POSIX (macOS): the component walk of beneath.cpp, every intermediate
// directory opened for search only where the system has O_SEARCH, else read-only.
#include <fcntl.h>

#include "util/beneath.hpp"

namespace util {

int dir_ref_flags() {
#ifdef O_SEARCH
  return O_SEARCH | O_DIRECTORY;
#else
  return O_RDONLY | O_DIRECTORY;
#endif
}

namespace detail {

int open_beneath_checked(int dirfd, std::string_view rel, int flags, unsigned mode, Resolver) {
  return walk_beneath(dirfd, rel, flags, mode, dir_ref_flags() & ~O_DIRECTORY);
}

}  // namespace detail

}  // namespace util
