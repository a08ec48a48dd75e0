// util/allocator.hpp on Linux: glibc's mallopt and malloc_trim (nothing with another libc).
#include "util/allocator.hpp"

#include <stdlib.h>  // defines __GLIBC__ (via features.h): the test below needs a libc header first
#ifdef __GLIBC__
#include <malloc.h>
#endif

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

#if defined(__linux__) && !defined(__GLIBC__) && !defined(MATCHLOCK_NON_GLIBC_OK)
#error "util/allocator_linux.cpp: __GLIBC__ is not defined; with glibc these calls would silently do nothing"
#endif

}  // namespace util
