// State shared by every verb: global options and the directories in use.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "util/xdg.hpp"

namespace cmd {

struct Context {
  std::string file;  // -f/--file: explicit Matchlockfile
  bool verbose = false;
  bool quiet = false;
  util::Dirs dirs = util::Dirs::from_environment();
  int exit_code = 0;  // set by the verb that ran
  // `run`/`exec`: the words after the first `--` following the verb (main.cpp
  // splits them off before CLI11 parses, since CLI11 loses them); nullopt: no `--`.
  std::optional<std::vector<std::string>> after_dashdash;
};

}  // namespace cmd
