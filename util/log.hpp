// Diagnostics on stderr: "matchlock: warning: ...". Verbosity is set once by cmd/.
#pragma once

#include <string_view>

namespace util::log {

enum class Level { Quiet, Normal, Verbose, Debug };

void set_level(Level level);
Level level();
void warn(std::string_view message);
void info(std::string_view message);   // shown unless Quiet
void debug(std::string_view message);  // shown at Verbose and above

}  // namespace util::log
