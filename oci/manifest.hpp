// OCI / Docker manifest documents: index (manifest list) and image manifest.
// Parsers take the document bytes (and the Content-Type the registry sent, if
// any); they refuse schema1, artifacts and unknown layer types with clear errors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/platform.hpp"
#include "util/result.hpp"

namespace oci {

namespace media_type {
inline constexpr std::string_view k_oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view k_oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view k_oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view k_docker_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view k_docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view k_docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view k_docker_schema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view k_docker_schema1_signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
// What we send in Accept when fetching a manifest.
inline constexpr std::string_view k_accept =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
}  // namespace media_type

struct Descriptor {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
  std::optional<Platform> platform;  // index entries only
  std::string artifact_type;
  std::map<std::string, std::string> annotations;
};

enum class Compression { None, Gzip, Zstd };

struct ImageManifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct ImageIndex {
  std::string media_type;
  std::vector<Descriptor> manifests;
};

struct Manifest {
  // Exactly one is set.
  std::optional<ImageIndex> index;
  std::optional<ImageManifest> image;
};

// `content_type` is the HTTP Content-Type (may be empty); the document's own
// mediaType wins when both are present and disagree only in parameters.
util::Result<Manifest> parse_manifest(std::string_view bytes, std::string_view content_type = {});

// Picks the entry for `want` from an index. Attestation entries
// (unknown/unknown) are never chosen. The error lists the platforms offered.
util::Result<Descriptor> select_platform(const ImageIndex& index, const Platform& want);

// Layer media type -> compression. Foreign/non-distributable and unknown
// types are refused (Unsupported) naming the type.
util::Result<Compression> layer_compression(std::string_view media_type);

}  // namespace oci
