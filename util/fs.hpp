// Small filesystem helpers that report errors as Result with the path named.
#pragma once

#include <filesystem>
#include <string>

#include "util/result.hpp"

namespace util {

Result<std::string> read_file(const std::filesystem::path& path);
// mkdir -p with MODE for created directories.
Result<void> make_dirs(const std::filesystem::path& path, int mode = 0755);
bool path_exists(const std::filesystem::path& path);

}  // namespace util
