// From an image reference to what a sandbox boots: pull (oci::pull_image),
// build or reuse the cached ext4 (oci::ensure_rootfs) and keep the image config.
#pragma once

#include <filesystem>
#include <string>

#include "oci/image_config.hpp"
#include "oci/progress.hpp"
#include "oci/pull.hpp"
#include "oci/reference.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

struct BootableImage {
  std::string reference;        // as resolved
  std::string manifest_digest;  // "sha256:..."
  std::filesystem::path ext4;   // read-only image disk (cached, shared)
  oci::ImageConfig config;
};

// `platform`: the variant of a multi-arch image to boot (engine/guest_platform.hpp).
// `policy`: docker's --pull (run/up default: Missing, no network when cached).
util::Result<BootableImage> prepare_image(const util::Dirs& dirs, const oci::Reference& ref,
                                          const oci::Platform& platform, oci::ProgressSink* progress,
                                          oci::PullPolicy policy = oci::PullPolicy::Missing);

}  // namespace engine
