// A kernel bundle as an OCI artifact's payload (`matchlock kernel push`,
// `[sandbox].kernel = "REF@sha256:..."`): three files — vmlinuz, a tar of the
// modules/ directory and bundle.json (which records every file's sha256). The
// registry plumbing lives in oci/ and engine/; this is the packing only.
#pragma once

#include <filesystem>
#include <string>

#include "backends/kernel_bundle.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace backends {

inline constexpr const char* k_kernel_artifact_type = "application/vnd.matchlock.kernel.v1";
inline constexpr const char* k_kernel_vmlinuz_type = "application/vnd.matchlock.kernel.vmlinuz.v1";
inline constexpr const char* k_kernel_modules_type = "application/vnd.matchlock.kernel.modules.v1.tar";
inline constexpr const char* k_kernel_metadata_type = "application/vnd.matchlock.kernel.bundle.v1+json";

struct KernelPayload {
  std::string vmlinuz;      // the kernel image (the bundle's vmlinuz, or its arm64 Image)
  std::string modules_tar;  // ustar of modules/NN-name.ko, deterministic (mtime 0, root-owned)
  std::string bundle_json;  // the bundle's bundle.json, byte for byte
};

// A bundle directory (with bundle.json) -> payload. A bare kernel is refused.
util::Result<KernelPayload> pack_kernel_bundle(const KernelBundle& bundle);

// Files from a pulled artifact -> kernels/<name>/ (published by rename; kept if
// already there). Every file is checked against bundle.json's sha256 list;
// tar entries other than plain modules/*.ko files are refused.
util::Result<KernelBundle> install_kernel_payload(const util::Dirs& dirs, const std::string& name,
                                                  const std::filesystem::path& vmlinuz,
                                                  const std::filesystem::path& modules_tar,
                                                  const std::filesystem::path& bundle_json);

}  // namespace backends
