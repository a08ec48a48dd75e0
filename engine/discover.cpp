#include "engine/discover.hpp"

#include <system_error>

namespace engine {

util::Result<std::filesystem::path> discover_matchlockfile(const std::string& explicit_path,
                                                           const std::filesystem::path& start) {
  std::error_code ec;
  if (!explicit_path.empty()) {
    if (!std::filesystem::is_regular_file(explicit_path, ec))
      return util::make_error(util::ErrorCode::Config, explicit_path + ": no such file");
    return std::filesystem::path(explicit_path);
  }
  std::filesystem::path dir = std::filesystem::absolute(start, ec).lexically_normal();
  if (ec) return util::make_error(util::ErrorCode::Io, "cannot resolve " + start.string() + ": " + ec.message());
  std::filesystem::path first = dir;
  while (true) {
    std::filesystem::path candidate = dir / k_matchlockfile;
    if (std::filesystem::is_regular_file(candidate, ec)) {
      // Show a short path when the file is in the starting directory.
      return dir == first ? std::filesystem::path(k_matchlockfile) : candidate;
    }
    if (std::filesystem::exists(dir / ".git", ec) || !dir.has_parent_path() || dir.parent_path() == dir) break;
    dir = dir.parent_path();
  }
  return util::make_error(util::ErrorCode::Config, "no Matchlockfile in " + first.string() +
                                                       (dir == first ? "" : " or its parents up to " + dir.string()) +
                                                       " (create one with `matchlock init`, or pass -f PATH)");
}

}  // namespace engine
