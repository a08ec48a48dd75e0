// The C allocator's tuning calls, which are glibc's (docs/ARCHITECTURE.md, "Platform layer"):
// allocator_linux.cpp calls mallopt/malloc_trim under glibc; allocator_posix.cpp does nothing
// (macOS's allocator returns freed memory by itself).
#pragma once

namespace util {

// One malloc arena for the whole process (glibc's M_ARENA_MAX = 1).
void limit_malloc_arenas();
// Hands freed heap memory back to the OS (glibc's malloc_trim(0)).
void release_free_memory();

}  // namespace util
