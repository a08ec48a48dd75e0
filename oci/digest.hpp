// Content digests "ALGORITHM:HEX" (OCI image-spec descriptor digests).
// Only sha256 is accepted for content we fetch; sha512 parses but is refused
// by the store with a clear message.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace oci {

struct Digest {
  std::string algorithm;  // "sha256"
  std::string hex;        // lowercase, 64 chars for sha256

  std::string to_string() const { return algorithm + ":" + hex; }
  bool operator==(const Digest&) const = default;
};

// Validates "sha256:<64 lowercase hex>" (or sha512:<128 hex>).
util::Result<Digest> parse_digest(std::string_view text);
inline bool is_valid_digest(std::string_view text) { return parse_digest(text).has_value(); }
// The sha256 digest of bytes, as "sha256:...".
std::string sha256_digest_of(std::string_view data);

}  // namespace oci
