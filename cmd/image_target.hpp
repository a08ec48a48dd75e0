// Which image a verb acts on: REF from the command line, else the
// Matchlockfile's sandbox.image; the platform from --platform, the
// Matchlockfile, or the host.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "cmd/context.hpp"
#include "oci/platform.hpp"
#include "oci/reference.hpp"
#include "util/result.hpp"

namespace cmd {

enum class NeedConfig { No, Yes };

struct ImageTarget {
  oci::Reference reference;
  oci::Platform platform;
  std::filesystem::path matchlockfile;  // empty when REF was given and no file was needed
  std::filesystem::path lock_path;
};

util::Result<ImageTarget> resolve_image_target(const Context& ctx, const std::string& reference,
                                               const std::string& platform, NeedConfig need_config);

}  // namespace cmd
