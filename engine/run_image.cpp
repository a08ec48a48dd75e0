#include "engine/run_image.hpp"

#include "oci/pull.hpp"
#include "oci/rootfs.hpp"

namespace engine {

util::Result<BootableImage> prepare_image(const util::Dirs& dirs, const oci::Reference& ref, oci::ProgressSink* progress) {
  oci::PullOptions options;
  options.progress = progress;
  auto pulled = ML_TRY_CTX(oci::pull_image(dirs, ref, options), "pull " + ref.to_string());
  std::vector<oci::RootfsLayer> layers;
  for (const auto& l : pulled.layers) layers.push_back({l.blob, l.media_type, l.digest});
  if (progress) progress->note("preparing root filesystem");
  auto rootfs = ML_TRY_CTX(oci::ensure_rootfs(dirs, pulled.manifest_digest, layers, {}), "rootfs for " + ref.to_string());
  return BootableImage{ref.to_string(), pulled.manifest_digest, rootfs.path, std::move(pulled.config)};
}

}  // namespace engine
