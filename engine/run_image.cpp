#include "engine/run_image.hpp"

#include "engine/image_pull.hpp"
#include "util/log.hpp"

namespace engine {

// The same pull path as `matchlock pull` (user config: mirrors, insecure
// registries), then the cached rootfs.
util::Result<BootableImage> prepare_image(const util::Dirs& dirs, const oci::Reference& ref,
                                          const oci::Platform& platform, oci::ProgressSink* progress,
                                          oci::PullPolicy policy) {
  // A warm start (nothing downloaded, rootfs cached) prints nothing; one line at -v.
  oci::QuietWhenCached quiet(progress);
  ImagePullOptions options;
  options.platform = platform;
  options.progress = &quiet;
  options.policy = policy;
  auto pulled = ML_TRY(pull_with_rootfs(dirs, ref, options));
  if (!pulled.rootfs) return util::make_error(util::ErrorCode::Internal, "no rootfs built for " + ref.to_string());
  if (!quiet.worked())
    util::log::debug(ref.to_string() + ": " + pulled.image.manifest_digest + " (cached image and rootfs)");
  return BootableImage{ref.to_string(), pulled.image.manifest_digest, pulled.rootfs->path,
                       std::move(pulled.image.config)};
}

}  // namespace engine
