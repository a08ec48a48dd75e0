// Byte sizes as written in configuration: "2GiB", "512MiB", "64KiB", "1TiB",
// "4096B" or plain digits ("4096"). Units are binary (IEC); no fractions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace util {

Result<uint64_t> parse_size(std::string_view text);
// The largest unit that divides BYTES exactly: 2147483648 -> "2GiB", 1000 -> "1000B".
std::string format_size(uint64_t bytes);

}  // namespace util
