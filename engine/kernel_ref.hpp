// Kernel bundles as OCI artifacts: `matchlock kernel push REF` and
// `[sandbox].kernel = "REF@sha256:..."` (pulled, verified, unpacked into
// kernels/oci-<manifest hex>/ once; later boots need no network).
#pragma once

#include <filesystem>
#include <string>

#include "backends/kernel_bundle.hpp"
#include "engine/config.hpp"
#include "engine/lockfile.hpp"
#include "oci/reference.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

// Publishes `bundle` to `ref` (a tag); returns the manifest digest.
util::Result<std::string> push_kernel(const util::Dirs& dirs, const oci::Reference& ref,
                                      const backends::KernelBundle& bundle);

// The bundle for `ref` (must carry a digest), pulled on first use.
util::Result<backends::KernelBundle> kernel_from_reference(const util::Dirs& dirs, const oci::Reference& ref);

// The bundle [sandbox].kernel names (pulled for a REF); nullopt for "default".
util::Result<std::optional<backends::KernelBundle>> configured_kernel(const util::Dirs& dirs, const Kernel& kernel);

// `matchlock lock`: the [kernel] entry (nullopt for the default kernel).
util::Result<std::optional<LockedKernel>> lock_kernel_entry(const util::Dirs& dirs, const Kernel& kernel);

// --frozen: the lock's [kernel] must name the same kernel with the same bundle
// digest (ErrorCode::Frozen otherwise). A REF is pulled if needed.
util::Result<void> check_frozen_kernel(const util::Dirs& dirs, const Kernel& kernel, const Lockfile& lock,
                                       const std::filesystem::path& lock_path);

}  // namespace engine
