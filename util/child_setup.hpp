// The two steps of starting a child (util::Child) that are Linux calls (docs/ARCHITECTURE.md,
// "Platform layer"): child_setup_linux.cpp uses prctl(PR_SET_PDEATHSIG) and execvpe;
// child_setup_posix.cpp has no parent-death signal (macOS has none: a child of a parent killed
// with SIGKILL lives on) and sets environ before execvp. Both run in the forked child: only
// async-signal-safe work.
#pragma once

namespace util::detail {

// The child gets SIGKILL when its parent dies. -1 with errno on failure.
int kill_child_with_parent();
// execvp with ENVP as the environment; returns only on failure.
void exec_with_env(char** argv, char** envp);

}  // namespace util::detail
