// State shared by every verb: global options and the directories in use.
#pragma once

#include <string>

#include "util/xdg.hpp"

namespace cmd {

struct Context {
  std::string file;        // -f/--file: explicit Matchlockfile
  bool verbose = false;
  bool quiet = false;
  util::Dirs dirs = util::Dirs::from_environment();
  int exit_code = 0;       // set by the verb that ran
};

}  // namespace cmd
