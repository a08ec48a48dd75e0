// Image platforms ("linux/amd64", "linux/arm/v7") and matching against the
// entries of an OCI index / Docker manifest list.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace oci {

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;  // "v7", "v8"; empty when none

  // "os/arch[/variant]"; "amd64" alone means linux/amd64.
  static util::Result<Platform> parse(std::string_view text);
  // The platform of the running host (linux/<uname -m mapped to GOARCH>).
  static Platform host();
  std::string to_string() const;
  // True when an index entry with `other` may run here. An empty variant in
  // the request matches any variant; arm64 treats a missing variant as v8.
  bool matches(const Platform& other) const;
  bool operator==(const Platform&) const = default;
};

}  // namespace oci
