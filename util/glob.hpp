// Path globs for mount excludes and task inputs:
//   *       any run of characters except '/'
//   ?       one character except '/'
//   [abc] [a-z] [!a-z]   one character from (or, with '!' or '^', not from) a class
//   **      as a whole path component: zero or more components ("**/node_modules", "src/**")
//   \c      the character c literally
#pragma once

#include <string_view>

#include "util/result.hpp"

namespace util {

// Rejects empty patterns, unclosed or empty '[...]', a trailing '\' and '**'
// that is not a whole path component.
Result<void> validate_glob(std::string_view pattern);
// True when PATH ('/'-separated, relative) matches PATTERN. PATTERN must be valid.
bool glob_match(std::string_view pattern, std::string_view path);

}  // namespace util
