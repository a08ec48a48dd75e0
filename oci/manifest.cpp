#include "oci/manifest.hpp"

#include <nlohmann/json.hpp>

#include "oci/digest.hpp"

namespace oci {

using util::ErrorCode;
using util::make_error;

namespace {

using Json = nlohmann::json;

std::string str_field(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string strip_params(std::string_view ct) {
  auto semi = ct.find(';');
  std::string s(ct.substr(0, semi));
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
  return s;
}

util::Result<Descriptor> parse_descriptor(const Json& j, std::string_view where) {
  if (!j.is_object()) return make_error(ErrorCode::Integrity, std::string(where) + ": descriptor is not an object");
  Descriptor d;
  d.media_type = str_field(j, "mediaType");
  d.digest = str_field(j, "digest");
  d.artifact_type = str_field(j, "artifactType");
  auto size = j.find("size");
  if (size == j.end() || !size->is_number_integer() || size->get<int64_t>() < 0)
    return make_error(ErrorCode::Integrity, std::string(where) + ": missing or negative size");
  d.size = size->get<uint64_t>();
  if (!is_valid_digest(d.digest))
    return make_error(ErrorCode::Integrity, std::string(where) + ": invalid digest \"" + d.digest + "\"");
  if (auto p = j.find("platform"); p != j.end() && p->is_object()) {
    Platform plat;
    plat.os = str_field(*p, "os");
    plat.architecture = str_field(*p, "architecture");
    plat.variant = str_field(*p, "variant");
    d.platform = plat;
  }
  if (auto a = j.find("annotations"); a != j.end() && a->is_object())
    for (auto& [k, v] : a->items())
      if (v.is_string()) d.annotations[k] = v.get<std::string>();
  return d;
}

bool is_image_config_type(std::string_view t) {
  return t == media_type::k_oci_config || t == media_type::k_docker_config;
}

util::Result<Manifest> parse_json(const Json& j, std::string_view content_type) {
  if (!j.is_object()) return make_error(ErrorCode::Integrity, "manifest is not a JSON object");
  auto sv = j.find("schemaVersion");
  std::string mt = str_field(j, "mediaType");
  if (mt.empty()) mt = strip_params(content_type);
  if ((sv != j.end() && sv->is_number_integer() && sv->get<int>() == 1) || mt == media_type::k_docker_schema1 ||
      mt == media_type::k_docker_schema1_signed || j.contains("fsLayers"))
    return make_error(
        ErrorCode::Unsupported,
        "Docker schema1 manifests are deprecated and not supported; re-push the image with a current client "
        "(Docker schema2 or OCI)");
  if (sv == j.end() || !sv->is_number_integer() || sv->get<int>() != 2)
    return make_error(ErrorCode::Unsupported,
                      "unsupported manifest schemaVersion " + (sv == j.end() ? std::string("(missing)") : sv->dump()));

  bool looks_index = j.contains("manifests");
  bool is_index = mt == media_type::k_oci_index || mt == media_type::k_docker_list || (mt.empty() && looks_index);
  bool is_image = mt == media_type::k_oci_manifest || mt == media_type::k_docker_manifest ||
                  (mt.empty() && !looks_index && j.contains("config"));
  Manifest out;
  if (is_index) {
    ImageIndex idx;
    idx.media_type = mt.empty() ? std::string(media_type::k_oci_index) : mt;
    auto m = j.find("manifests");
    if (m == j.end() || !m->is_array()) return make_error(ErrorCode::Integrity, "index has no \"manifests\" array");
    size_t i = 0;
    for (const auto& e : *m) {
      auto d = ML_TRY(parse_descriptor(e, "manifests[" + std::to_string(i++) + "]"));
      idx.manifests.push_back(std::move(d));
    }
    out.index = std::move(idx);
    return out;
  }
  if (!is_image) return make_error(ErrorCode::Unsupported, "unsupported manifest media type \"" + mt + "\"");

  ImageManifest im;
  im.media_type = mt.empty() ? std::string(media_type::k_oci_manifest) : mt;
  std::string artifact = str_field(j, "artifactType");
  auto cfg = j.find("config");
  if (cfg == j.end()) return make_error(ErrorCode::Integrity, "manifest has no config descriptor");
  if (!artifact.empty())
    return make_error(ErrorCode::Unsupported,
                      "this is an OCI artifact (artifactType \"" + artifact + "\"), not a container image");
  if (cfg->is_object() && !is_image_config_type(str_field(*cfg, "mediaType")))
    return make_error(ErrorCode::Unsupported, "this is an OCI artifact (config mediaType \"" +
                                                  str_field(*cfg, "mediaType") + "\"), not a container image");
  im.config = ML_TRY(parse_descriptor(*cfg, "config"));
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array())
    return make_error(ErrorCode::Integrity, "manifest has no \"layers\" array");
  size_t i = 0;
  for (const auto& e : *layers) {
    auto d = ML_TRY(parse_descriptor(e, "layers[" + std::to_string(i++) + "]"));
    im.layers.push_back(std::move(d));
  }
  out.image = std::move(im);
  return out;
}

}  // namespace

util::Result<Manifest> parse_manifest(std::string_view bytes, std::string_view content_type) {
  Json j = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(ErrorCode::Integrity, "manifest is not valid JSON");
  try {
    return parse_json(j, content_type);
  } catch (const Json::exception& e) {
    return make_error(ErrorCode::Integrity, std::string("manifest: ") + e.what());
  }
}

util::Result<Descriptor> select_platform(const ImageIndex& index, const Platform& want) {
  const Descriptor* loose = nullptr;
  std::string offered;
  for (const auto& d : index.manifests) {
    if (!d.platform) continue;
    const Platform& p = *d.platform;
    if (p.os == "unknown" && p.architecture == "unknown") continue;  // attestations
    if (d.annotations.contains("vnd.docker.reference.type")) continue;
    if (!offered.empty()) offered += ", ";
    offered += p.to_string();
    if (!want.matches(p)) continue;
    if (p.variant == want.variant) {
      loose = &d;
      break;  // exact match: first one wins (the gzip one before zstd variants)
    }
    if (!loose) loose = &d;
  }
  if (!loose) {
    // An index without platforms and one entry: take it (single-image layouts).
    if (index.manifests.size() == 1 && !index.manifests[0].platform) return index.manifests[0];
    return make_error(ErrorCode::NotFound, "no image for platform " + want.to_string() +
                                               " (offered: " + (offered.empty() ? "none" : offered) + ")");
  }
  if (loose->media_type == media_type::k_docker_schema1 || loose->media_type == media_type::k_docker_schema1_signed)
    return make_error(ErrorCode::Unsupported,
                      "the " + want.to_string() + " entry is a Docker schema1 manifest, which is not supported");
  return *loose;
}

util::Result<Compression> layer_compression(std::string_view mt) {
  if (mt == "application/vnd.oci.image.layer.v1.tar" || mt == "application/vnd.docker.image.rootfs.diff.tar")
    return Compression::None;
  if (mt == "application/vnd.oci.image.layer.v1.tar+gzip" || mt == "application/vnd.docker.image.rootfs.diff.tar.gzip")
    return Compression::Gzip;
  if (mt == "application/vnd.oci.image.layer.v1.tar+zstd" || mt == "application/vnd.docker.image.rootfs.diff.tar.zstd")
    return Compression::Zstd;
  if (mt.find("nondistributable") != std::string_view::npos || mt.find("foreign") != std::string_view::npos)
    return make_error(ErrorCode::Unsupported,
                      "foreign/non-distributable layer type \"" + std::string(mt) + "\" is not supported");
  return make_error(ErrorCode::Unsupported, "unsupported layer media type \"" + std::string(mt) + "\"");
}

}  // namespace oci
