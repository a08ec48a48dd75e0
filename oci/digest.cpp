#include "oci/digest.hpp"

#include "util/sha256.hpp"

namespace oci {

util::Result<Digest> parse_digest(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return util::make_error(util::ErrorCode::Config,
                            "invalid digest \"" + std::string(text) + "\": expected ALGORITHM:HEX");
  Digest d{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
  size_t want = 0;
  if (d.algorithm == "sha256")
    want = 64;
  else if (d.algorithm == "sha512")
    want = 128;
  else
    return util::make_error(util::ErrorCode::Config, "invalid digest \"" + std::string(text) +
                                                         "\": unsupported algorithm \"" + d.algorithm + "\"");
  bool hex = d.hex.size() == want;
  for (char c : d.hex) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!hex)
    return util::make_error(util::ErrorCode::Config, "invalid digest \"" + std::string(text) + "\": expected " +
                                                         std::to_string(want) + " lowercase hex digits");
  return d;
}

std::string sha256_digest_of(std::string_view data) { return "sha256:" + util::sha256_hex(data); }

}  // namespace oci
