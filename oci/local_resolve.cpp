#include "oci/local_resolve.hpp"

#include "oci/image_records.hpp"
#include "oci/manifest.hpp"
#include "util/fs.hpp"

namespace oci {

using util::ErrorCode;
using util::make_error;

util::Result<PullPolicy> parse_pull_policy(std::string_view text) {
  if (text == "always") return PullPolicy::Always;
  if (text == "missing") return PullPolicy::Missing;
  if (text == "never") return PullPolicy::Never;
  return make_error(ErrorCode::Usage, "--pull: \"" + std::string(text) + "\" is not one of always, missing, never");
}

std::string_view to_string(PullPolicy policy) {
  switch (policy) {
    case PullPolicy::Always:
      return "always";
    case PullPolicy::Missing:
      return "missing";
    case PullPolicy::Never:
      return "never";
  }
  return "?";
}

namespace {

// A manifest blob from the store, parsed; nullopt when absent.
util::Result<std::optional<Manifest>> stored_manifest(const Store& store, const std::string& digest) {
  Digest d = ML_TRY(parse_sha256_digest(digest));
  if (!util::path_exists(store.blob_path(d))) return std::optional<Manifest>();
  std::string bytes = ML_TRY(store.read_blob(d));
  return std::optional<Manifest>(ML_TRY_CTX(parse_manifest(bytes), "stored manifest " + digest));
}

}  // namespace

util::Result<std::optional<PulledImage>> resolve_local(const Store& store, const Reference& ref,
                                                       std::string_view pinned_manifest, const Platform& platform,
                                                       TagLookup tags) {
  if (ref.kind != ReferenceKind::Registry) return std::optional<PulledImage>();
  std::optional<ImageRecord> record = find_image_record(store, ref.to_string(), platform.to_string());
  std::string top;
  if (!pinned_manifest.empty())
    top = std::string(pinned_manifest);
  else if (!ref.digest.empty())
    top = ref.digest;
  else if (tags == TagLookup::Record && record)
    top = record->index_digest.empty() ? record->manifest_digest : record->index_digest;
  if (top.empty()) return std::optional<PulledImage>();

  PulledImage img;
  img.reference = ref;
  img.source = record ? record->source : "local store";
  auto m = ML_TRY(stored_manifest(store, top));
  if (!m) return std::optional<PulledImage>();
  ImageManifest im;
  img.manifest_digest = top;
  if (m->index) {
    img.index_digest = top;
    Descriptor chosen = ML_TRY_CTX(select_platform(*m->index, platform), ref.to_string());
    auto child = ML_TRY(stored_manifest(store, chosen.digest));
    if (!child) return std::optional<PulledImage>();
    if (!child->image)
      return make_error(ErrorCode::Unsupported, "manifest " + chosen.digest + ": nested index is not supported");
    im = std::move(*child->image);
    img.manifest_digest = chosen.digest;
  } else {
    im = std::move(*m->image);
  }
  Digest cd = ML_TRY(parse_sha256_digest(im.config.digest));
  if (!store.has_blob(cd, im.config.size)) return std::optional<PulledImage>();
  for (const auto& l : im.layers) {
    Digest d = ML_TRY(parse_sha256_digest(l.digest));
    if (!store.has_blob(d, l.size)) return std::optional<PulledImage>();
    img.layers.push_back(Layer{l.media_type, l.digest, l.size, store.blob_path(d)});
  }
  std::string text = ML_TRY(store.read_blob(cd));
  img.config = ML_TRY_CTX(parse_image_config(text), "config " + im.config.digest);
  img.config_digest = im.config.digest;
  if (!m->index && !img.config.platform.architecture.empty() && !platform.matches(img.config.platform))
    return std::optional<PulledImage>();  // let the pull path give its error
  return std::optional<PulledImage>(std::move(img));
}

}  // namespace oci
