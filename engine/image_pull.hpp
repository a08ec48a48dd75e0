// Pull an image and build its rootfs: what `matchlock pull`, `lock` and `up`
// share. Frozen pulls fetch the manifest the lock pins and check the rootfs.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "engine/lockfile.hpp"
#include "oci/pull.hpp"
#include "oci/rootfs.hpp"
#include "util/xdg.hpp"

namespace engine {

enum class BuildRootfs { No, Yes };

struct ImagePull {
  oci::PulledImage image;
  std::optional<oci::Rootfs> rootfs;
  std::string platform;  // as used
};

struct ImagePullOptions {
  oci::Platform platform = oci::Platform::host();
  oci::ProgressSink* progress = nullptr;
  BuildRootfs build_rootfs = BuildRootfs::Yes;
  const LockedImage* frozen = nullptr;  // pin from the lockfile (frozen mode)
  // `pull` re-checks tags (Always); run/up answer them from the store (Missing).
  oci::PullPolicy policy = oci::PullPolicy::Always;
};

util::Result<ImagePull> pull_with_rootfs(const util::Dirs& dirs, const oci::Reference& ref,
                                         const ImagePullOptions& options);

LockedImage lock_entry(const ImagePull& pulled);

// `up --dry-run`: what `ref` resolves to from the cache alone (no network,
// nothing built). nullopt when a pull would be needed (or `ref` is not a
// registry reference). `rootfs` is empty when the ext4 is not built yet.
struct CachedImage {
  std::string manifest_digest, source;
  std::filesystem::path rootfs;
};
util::Result<std::optional<CachedImage>> resolve_cached(const util::Dirs& dirs, const oci::Reference& ref,
                                                        const oci::Platform& platform);

}  // namespace engine
