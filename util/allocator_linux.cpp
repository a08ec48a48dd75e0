// util/allocator.hpp on Linux: glibc's mallopt and malloc_trim (nothing with another libc).
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "util/allocator.hpp"

namespace util {

void limit_malloc_arenas() {
#ifdef __GLIBC__
  ::mallopt(M_ARENA_MAX, 1);
#endif
}

void release_free_memory() {
#ifdef __GLIBC__
  ::malloc_trim(0);
#endif
}

}  // namespace util
