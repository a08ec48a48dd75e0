// Finding the Matchlockfile: `-f PATH` if given, else "Matchlockfile" in the
// current directory or the nearest parent, stopping at the repository root
// (the first directory that contains .git).
#pragma once

#include <filesystem>
#include <string>

#include "util/result.hpp"

namespace engine {

inline constexpr const char* k_matchlockfile = "Matchlockfile";

// EXPLICIT is the -f value (empty when not given); START the directory to search from.
// Errors (ErrorCode::Config, exit 2) name the directories searched or the missing -f path.
util::Result<std::filesystem::path> discover_matchlockfile(const std::string& explicit_path,
                                                           const std::filesystem::path& start);

}  // namespace engine
