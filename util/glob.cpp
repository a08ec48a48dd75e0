#include "util/glob.hpp"

#include <string>

namespace util {

namespace {

Error bad(std::string_view pattern, std::string_view why) {
  return make_error(ErrorCode::Config, "invalid glob \"" + std::string(pattern) + "\": " + std::string(why));
}

// Length of the class starting at P[0] == '[' (including the closing ']'), or 0 if unclosed/empty.
size_t class_length(std::string_view p) {
  size_t i = 1;
  if (i < p.size() && (p[i] == '!' || p[i] == '^')) ++i;
  size_t first = i;
  while (i < p.size()) {
    if (p[i] == '\\') {
      i += 2;
      continue;
    }
    if (p[i] == ']' && i > first) return i + 1;
    ++i;
  }
  return 0;
}

bool class_matches(std::string_view cls, char c) {  // CLS includes the brackets
  size_t i = 1;
  bool negate = false;
  if (cls[i] == '!' || cls[i] == '^') {
    negate = true;
    ++i;
  }
  bool hit = false;
  size_t end = cls.size() - 1;
  while (i < end) {
    char lo = cls[i];
    if (lo == '\\' && i + 1 < end) lo = cls[++i];
    char hi = lo;
    if (i + 2 < end && cls[i + 1] == '-') {
      hi = cls[i + 2];
      if (hi == '\\' && i + 3 < end) hi = cls[++i + 2];
      i += 2;
    }
    if (c >= lo && c <= hi) hit = true;
    ++i;
  }
  return hit != negate && c != '/';
}

// Whole: P matches all of S. Prefix: S is "DIR/" and P may match it followed by
// anything: true once S is used up with pattern left over.
enum class Match { Whole, Prefix };

bool match_at(std::string_view p, std::string_view s, Match mode) {
  while (!p.empty()) {
    if (mode == Match::Prefix && s.empty()) return true;
    if (p.substr(0, 2) == "**") {
      // "**" is a whole component (validated): "**/rest", "**" at the end.
      std::string_view rest = p.substr(2);
      if (rest.empty()) return true;  // matches everything below
      rest.remove_prefix(1);          // the '/'
      // Zero components, or skip one component at a time.
      for (size_t i = 0;;) {
        if (match_at(rest, s.substr(i), mode)) return true;
        size_t slash = s.find('/', i);
        if (slash == std::string_view::npos) return false;
        i = slash + 1;
      }
    }
    char c = p[0];
    if (c == '*') {
      std::string_view rest = p.substr(1);
      for (size_t i = 0; i <= s.size(); ++i) {
        if (match_at(rest, s.substr(i), mode)) return true;
        if (i < s.size() && s[i] == '/') return false;
      }
      return false;
    }
    if (s.empty()) return false;
    if (c == '?') {
      if (s[0] == '/') return false;
      p.remove_prefix(1);
    } else if (c == '[') {
      size_t len = class_length(p);
      if (!class_matches(p.substr(0, len), s[0])) return false;
      p.remove_prefix(len);
    } else {
      if (c == '\\') p.remove_prefix(1);
      if (p[0] != s[0]) return false;
      p.remove_prefix(1);
    }
    s.remove_prefix(1);
  }
  return s.empty();
}

}  // namespace

Result<void> validate_glob(std::string_view pattern) {
  if (pattern.empty()) return bad(pattern, "empty pattern");
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      if (i + 1 == pattern.size()) return bad(pattern, "trailing '\\'");
      ++i;
    } else if (c == '[') {
      size_t len = class_length(pattern.substr(i));
      if (len == 0) return bad(pattern, "unclosed or empty '[' class");
      i += len - 1;
    } else if (c == '*' && i + 1 < pattern.size() && pattern[i + 1] == '*') {
      bool starts = i == 0 || pattern[i - 1] == '/';
      bool ends = i + 2 == pattern.size() || pattern[i + 2] == '/';
      if (!starts || !ends) return bad(pattern, "'**' must be a whole path component");
      ++i;
    }
  }
  return ok();
}

bool glob_match(std::string_view pattern, std::string_view path) { return match_at(pattern, path, Match::Whole); }

bool glob_may_match_beneath(std::string_view pattern, std::string_view dir) {
  if (dir.empty()) return true;
  return match_at(pattern, std::string(dir) + "/", Match::Prefix);
}

Result<std::string> normalize_path_glob(std::string_view pattern) {
  std::string_view p = pattern;
  for (;;) {
    if (!p.empty() && p.front() == '/')
      p.remove_prefix(1);
    else if (p.substr(0, 2) == "./")
      p.remove_prefix(2);
    else
      break;
  }
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  if (p.empty()) return bad(pattern, "matches no path (write the path relative to the directory)");
  for (size_t start = 0;;) {
    size_t slash = p.find('/', start);
    std::string_view comp = p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (comp.empty() || comp == "." || comp == "..")
      return bad(pattern, "empty, '.' or '..' path components never match");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  ML_TRY(validate_glob(p));
  return std::string(p);
}

}  // namespace util
