#include "util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <string>

namespace util::log {

namespace {
std::atomic<Level> g_level{Level::Normal};

void emit(std::string_view prefix, std::string_view message) {
  std::string line = "matchlock: ";
  line += prefix;
  line += message;
  line += '\n';
  // One write() per line keeps lines whole when several processes share stderr.
  ssize_t r = ::write(STDERR_FILENO, line.data(), line.size());
  (void)r;
}
}  // namespace

void set_level(Level level) { g_level = level; }
Level level() { return g_level; }
void warn(std::string_view message) { emit("warning: ", message); }
void info(std::string_view message) {
  if (g_level != Level::Quiet) emit("", message);
}
void debug(std::string_view message) {
  if (g_level >= Level::Verbose) emit("debug: ", message);
}

}  // namespace util::log
