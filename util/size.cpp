#include "util/size.hpp"

#include <charconv>
#include <limits>

namespace util {

namespace {

struct Unit {
  std::string_view suffix;
  uint64_t factor;
};

constexpr Unit k_units[] = {
    {"TiB", uint64_t{1} << 40},
    {"GiB", uint64_t{1} << 30},
    {"MiB", uint64_t{1} << 20},
    {"KiB", uint64_t{1} << 10},
    {"B", 1},
};

Error bad(std::string_view text, std::string_view why) {
  return make_error(ErrorCode::Config, "invalid size \"" + std::string(text) + "\": " + std::string(why));
}

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return bad(text, "expected a number followed by B, KiB, MiB, GiB or TiB");
  uint64_t number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc() || end != text.data() + digits) return bad(text, "number too large");
  std::string_view suffix = text.substr(digits);
  uint64_t factor = 0;
  if (suffix.empty()) {
    factor = 1;
  } else {
    for (const auto& u : k_units)
      if (suffix == u.suffix) factor = u.factor;
  }
  if (factor == 0) return bad(text, "unknown unit \"" + std::string(suffix) + "\" (use B, KiB, MiB, GiB or TiB)");
  if (number > std::numeric_limits<uint64_t>::max() / factor) return bad(text, "too large");
  return number * factor;
}

std::string format_size(uint64_t bytes) {
  for (const auto& u : k_units)
    if (bytes != 0 && u.factor > 1 && bytes % u.factor == 0)
      return std::to_string(bytes / u.factor) + std::string(u.suffix);
  return std::to_string(bytes) + "B";
}

}  // namespace util
