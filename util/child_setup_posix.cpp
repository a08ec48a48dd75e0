// util/child_setup.hpp on POSIX (macOS): no parent-death signal; environ, then execvp.
#include <unistd.h>

#include "util/child_setup.hpp"

extern char** environ;

namespace util::detail {

int kill_child_with_parent() { return 0; }  // nothing to ask for: see the header

void exec_with_env(char** argv, char** envp) {
  environ = envp;  // the forked child's own copy of the pointer
  ::execvp(argv[0], argv);
}

}  // namespace util::detail
