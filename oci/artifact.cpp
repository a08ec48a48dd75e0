#include "oci/artifact.hpp"

#include <nlohmann/json.hpp>

#include "oci/registry_client.hpp"
#include "oci/registry_settings.hpp"
#include "oci/store.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"

namespace oci {

using util::ErrorCode;
using util::make_error;
using Json = nlohmann::json;

namespace {

constexpr std::string_view k_title = "org.opencontainers.image.title";

std::string digest_of(std::string_view data) { return "sha256:" + util::sha256_hex(data); }

}  // namespace

const ArtifactFile* PulledArtifact::find(std::string_view title) const {
  for (const auto& f : files)
    if (f.title == title) return &f;
  return nullptr;
}

util::Result<std::string> push_artifact(const util::Dirs& dirs, const Reference& ref, const ArtifactPush& artifact) {
  if (ref.kind != ReferenceKind::Registry)
    return make_error(ErrorCode::Usage, ref.to_string() + ": artifacts are pushed to a registry");
  if (!ref.digest.empty()) return make_error(ErrorCode::Usage, ref.to_string() + ": push to a tag, not a digest");
  Store store = ML_TRY(Store::open(dirs));
  auto settings = ML_TRY(RegistrySettings::load(dirs.config / "config.toml"));
  auto client = ML_TRY(connect_registry(ref.registry, ref.repository, settings, store));
  client->request_push_access();
  const std::string empty = "{}";
  Json layers = Json::array();
  for (const auto& b : artifact.blobs) {
    std::string d = digest_of(b.data);
    ML_TRY_CTX(client->push_blob(d, b.data), "push " + b.title);
    layers.push_back(
        {{"mediaType", b.media_type}, {"digest", d}, {"size", b.data.size()}, {"annotations", {{k_title, b.title}}}});
  }
  ML_TRY_CTX(client->push_blob(digest_of(empty), empty), "push config");
  Json m = {{"schemaVersion", 2},
            {"mediaType", media_type::k_oci_manifest},
            {"artifactType", artifact.artifact_type},
            {"config", {{"mediaType", k_empty_config_type}, {"digest", digest_of(empty)}, {"size", 2}}},
            {"layers", layers}};
  if (!artifact.annotations.empty()) m["annotations"] = artifact.annotations;
  std::string bytes = m.dump();
  std::string tag = ref.tag.empty() ? "latest" : ref.tag;
  std::string digest = ML_TRY(client->push_manifest(tag, media_type::k_oci_manifest, bytes));
  Digest md = ML_TRY(parse_sha256_digest(digest));
  ML_TRY(store.put_blob(md, bytes));
  return digest;
}

util::Result<PulledArtifact> parse_artifact_manifest(std::string_view bytes, std::string_view artifact_type) {
  auto j = Json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::Integrity, "artifact manifest is not a JSON object");
  try {
    std::string mt = j.value("mediaType", "");
    if (mt != media_type::k_oci_manifest)
      return make_error(ErrorCode::Unsupported, "not an OCI artifact manifest (mediaType \"" + mt + "\")");
    // image-spec 1.1: artifactType, or the config's mediaType when it is absent.
    std::string type = j.value("artifactType", j.at("config").value("mediaType", ""));
    if (type != artifact_type)
      return make_error(ErrorCode::Unsupported,
                        "artifact type is \"" + type + "\", expected \"" + std::string(artifact_type) + "\"");
    PulledArtifact a;
    for (const auto& l : j.at("layers")) {
      ArtifactFile f;
      f.media_type = l.at("mediaType").get<std::string>();
      f.digest = l.at("digest").get<std::string>();
      f.size = l.at("size").get<uint64_t>();
      if (l.contains("annotations")) f.title = l["annotations"].value(std::string(k_title), "");
      a.files.push_back(std::move(f));
    }
    return a;
  } catch (const Json::exception& e) {
    return make_error(ErrorCode::Integrity, std::string("artifact manifest: ") + e.what());
  }
}

util::Result<PulledArtifact> pull_artifact(const util::Dirs& dirs, const Reference& ref,
                                           std::string_view artifact_type) {
  if (ref.kind != ReferenceKind::Registry || ref.digest.empty())
    return make_error(ErrorCode::Usage, ref.to_string() + ": an artifact is pulled by digest (REF@sha256:...)");
  Store store = ML_TRY(Store::open(dirs));
  FileLock store_lock = ML_TRY(store.lock_store(LockMode::Shared));
  Digest md = ML_TRY(parse_sha256_digest(ref.digest));
  std::unique_ptr<RegistryClient> client;
  auto connect = [&]() -> util::Result<void> {
    if (client) return util::ok();
    auto settings = ML_TRY(RegistrySettings::load(dirs.config / "config.toml"));
    client = ML_TRY(connect_registry(ref.registry, ref.repository, settings, store));
    return util::ok();
  };
  std::string bytes;
  if (util::path_exists(store.blob_path(md))) {
    bytes = ML_TRY(store.read_blob(md));
  } else {
    ML_TRY(connect());
    FetchedManifest m = ML_TRY_CTX(client->fetch_manifest(ref.digest), client->describe());
    bytes = std::move(m.bytes);
    ML_TRY(store.put_blob(md, bytes));
  }
  PulledArtifact a = ML_TRY_CTX(parse_artifact_manifest(bytes, artifact_type), ref.to_string());
  a.manifest_digest = ref.digest;
  for (auto& f : a.files) {
    Digest d = ML_TRY(parse_sha256_digest(f.digest));
    if (!store.has_blob(d, f.size)) {
      ML_TRY(connect());
      FileLock bl = ML_TRY(store.lock_blob(d));
      Descriptor desc;
      desc.media_type = f.media_type;
      desc.digest = f.digest;
      desc.size = f.size;
      ML_TRY_CTX(client->fetch_blob(desc, store, nullptr), ref.to_string());
    }
    f.blob = store.blob_path(d);
  }
  return a;
}

}  // namespace oci
