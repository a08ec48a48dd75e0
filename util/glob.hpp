// Path globs for mount excludes and task inputs:
//   *       any run of characters except '/'
//   ?       one character except '/'
//   [abc] [a-z] [!a-z]   one character from (or, with '!' or '^', not from) a class
//   **      as a whole path component: zero or more components ("**/node_modules", "src/**")
//   \c      the character c literally
// A pattern matches a whole relative path: "*.key" is "a.key", never "d/a.key".
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace util {

// Rejects empty patterns, unclosed or empty '[...]', a trailing '\' and '**'
// that is not a whole path component.
Result<void> validate_glob(std::string_view pattern);
// True when PATH ('/'-separated, relative) matches PATTERN. PATTERN must be valid.
bool glob_match(std::string_view pattern, std::string_view path);
// True when some path strictly beneath DIR ("DIR/x", "DIR/x/y", ...) could
// match PATTERN (for DIR "": any path could). May answer true when none can
// (it does not look past DIR), never false when one can.
bool glob_may_match_beneath(std::string_view pattern, std::string_view dir);

// A pattern for paths relative to a directory, as users write them: a
// leading "/" or "./" and a trailing "/" are dropped ("secrets/" and
// "/secrets" mean "secrets"). Rejects what validate_glob rejects and
// patterns that could never match such a path: empty, or with an empty,
// "." or ".." component ("a//b", "a/../b").
Result<std::string> normalize_path_glob(std::string_view pattern);

}  // namespace util
