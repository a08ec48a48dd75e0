// Shell completion from the CLI11 definitions: `matchlock __complete WORD...`
// (the words after the program name, the one being completed last) prints one
// candidate per line as "VALUE\tHELP"; the scripts of `matchlock completion
// SHELL` (cmd/completion_scripts.cpp) call it on every TAB. Verbs and flags come
// from the registered subcommands and options; a value's candidates from its
// type name (`->type_name(...)`):
//   SANDBOX   sandbox names in the state directory
//   TASK      task names of the Matchlockfile (-f, else the nearest one)
//   TEMPLATE  `matchlock init` templates
//   FILE, DIR the shell completes paths (a last line ":files" / ":dirs")
//   a|b|c     these words
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "util/xdg.hpp"

namespace cmd {

// Type names the completion understands (set on options and positionals).
inline constexpr const char* k_type_sandbox = "SANDBOX";
inline constexpr const char* k_type_task = "TASK";
inline constexpr const char* k_type_template = "TEMPLATE";
inline constexpr const char* k_type_file = "FILE";
inline constexpr const char* k_type_dir = "DIR";

struct Candidate {
  std::string value;
  std::string help;
};

enum class PathCompletion { None, Files, Dirs };

struct Completion {
  std::vector<Candidate> items;  // already filtered by the word's prefix
  PathCompletion paths = PathCompletion::None;
};

// Verbs hidden from --help, the man page and completion (group "").
bool is_hidden(const CLI::App& app);

// WORDS: what follows the program name on the command line, the word under
// the cursor last (possibly empty).
Completion complete_words(const CLI::App& root, const util::Dirs& dirs, const std::vector<std::string>& words);

// The lines `__complete` prints.
std::string format_completion(const Completion& c);

}  // namespace cmd
