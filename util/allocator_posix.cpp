// util/allocator.hpp on POSIX (macOS): no portable tuning calls; the system allocator returns
// freed memory by itself.
#include "util/allocator.hpp"

namespace util {

void limit_malloc_arenas() {}
void release_free_memory() {}

}  // namespace util
