// Parsing and validating a Matchlockfile into engine::Config.
// Parsers take strings (tests never touch files); load_config reads the file.
// Every problem is collected, not only the first: see engine/diagnostics.hpp.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include "engine/config.hpp"
#include "engine/diagnostics.hpp"
#include "util/result.hpp"

namespace engine {

struct ParseResult {
  std::optional<Config> config;  // set only when diagnostics is empty
  Diagnostics diagnostics;       // every error, with line:col
};

// TEXT is the file's content; DISPLAY_PATH is what error lines start with;
// BASE_DIR is where relative host paths resolve (the file's directory).
ParseResult parse_config(std::string_view text, const std::filesystem::path& display_path,
                         const std::filesystem::path& base_dir);

// Reads and parses PATH. On failure the error (ErrorCode::Config, or Io when
// the file cannot be read) carries every diagnostic line, "PATH:LINE:COL: msg",
// one per line, sorted by position.
util::Result<Config> load_config(const std::filesystem::path& path);

}  // namespace engine
