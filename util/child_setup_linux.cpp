// util/child_setup.hpp on Linux.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "util/child_setup.hpp"

namespace util::detail {

int kill_child_with_parent() { return ::prctl(PR_SET_PDEATHSIG, SIGKILL); }

void exec_with_env(char** argv, char** envp) { ::execvpe(argv[0], argv, envp); }

}  // namespace util::detail
