#include "engine/image_pull.hpp"

#include "oci/local_resolve.hpp"
#include "oci/registry_settings.hpp"
#include "oci/store.hpp"
#include "util/fs.hpp"

namespace engine {

util::Result<ImagePull> pull_with_rootfs(const util::Dirs& dirs, const oci::Reference& ref,
                                         const ImagePullOptions& options) {
  oci::PullOptions po;
  po.platform = options.platform;
  po.progress = options.progress;
  po.policy = options.policy;
  po.settings = ML_TRY(oci::RegistrySettings::load(dirs.config / "config.toml"));
  if (options.frozen) po.expected_manifest_digest = options.frozen->manifest_digest;
  ImagePull out;
  out.platform = options.platform.to_string();
  std::string refname = ref.to_string();
  out.image = ML_TRY_CTX(oci::pull_image(dirs, ref, po), "pull " + refname);
  if (options.frozen) {
    if (!options.frozen->index_digest.empty() && out.image.index_digest.empty())
      out.image.index_digest = options.frozen->index_digest;
    if (!options.frozen->config_digest.empty() && options.frozen->config_digest != out.image.config_digest)
      return util::make_error(util::ErrorCode::Frozen, refname + ": config " + out.image.config_digest +
                                                           " does not match the lock (" +
                                                           options.frozen->config_digest + ")");
  }
  if (options.build_rootfs == BuildRootfs::No) return out;
  oci::RootfsOptions rootfs_options;
  if (options.progress) rootfs_options.on_build = [&] { options.progress->note("building rootfs"); };
  std::vector<oci::RootfsLayer> layers;
  for (const auto& l : out.image.layers) layers.push_back(oci::RootfsLayer{l.blob, l.media_type, l.digest});
  out.rootfs =
      ML_TRY_CTX(oci::ensure_rootfs(dirs, out.image.manifest_digest, layers, rootfs_options), "rootfs for " + refname);
  if (options.frozen && !options.frozen->rootfs_sha256.empty() &&
      options.frozen->rootfs_sha256 != "sha256:" + out.rootfs->sha256)
    return util::make_error(util::ErrorCode::Frozen, refname + ": rootfs sha256:" + out.rootfs->sha256 +
                                                         " does not match the lock (" + options.frozen->rootfs_sha256 +
                                                         ")");
  return out;
}

LockedImage lock_entry(const ImagePull& pulled) {
  LockedImage e;
  e.reference = pulled.image.reference.to_string();
  e.platform = pulled.platform;
  e.index_digest = pulled.image.index_digest;
  e.manifest_digest = pulled.image.manifest_digest;
  e.config_digest = pulled.image.config_digest;
  if (pulled.rootfs) e.rootfs_sha256 = "sha256:" + pulled.rootfs->sha256;
  return e;
}

util::Result<std::optional<CachedImage>> resolve_cached(const util::Dirs& dirs, const oci::Reference& ref,
                                                        const oci::Platform& platform) {
  oci::Store store = ML_TRY(oci::Store::open(dirs));
  auto local = ML_TRY(oci::resolve_local(store, ref, {}, platform, oci::TagLookup::Record));
  if (!local) return std::optional<CachedImage>();
  CachedImage c{local->manifest_digest, local->source, {}};
  auto path = ML_TRY(oci::rootfs_cache_path(dirs, local->manifest_digest));
  if (util::path_exists(path)) c.rootfs = path;
  return std::optional<CachedImage>(std::move(c));
}

}  // namespace engine
