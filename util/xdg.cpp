#include "util/xdg.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace util {

namespace {
std::filesystem::path home_dir() {
  if (const char* h = std::getenv("HOME"); h && *h) return h;
  if (passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return "/";
}

std::filesystem::path xdg(const char* var, const char* fallback) {
  const char* v = std::getenv(var);
  // The XDG spec says relative values are invalid and must be ignored.
  if (v && *v == '/') return std::filesystem::path(v) / "matchlock";
  return home_dir() / fallback / "matchlock";
}
}  // namespace

Dirs Dirs::from_environment() {
  return Dirs{
      xdg("XDG_CACHE_HOME", ".cache"),
      xdg("XDG_STATE_HOME", ".local/state"),
      xdg("XDG_CONFIG_HOME", ".config"),
  };
}

}  // namespace util
