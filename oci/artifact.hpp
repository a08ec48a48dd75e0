// OCI artifacts (image-spec 1.1 "artifactType" manifests): push a few named
// blobs under one manifest, and pull one back (verified, into the store).
// Used for kernel bundles; images are refused as artifacts and vice versa.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "oci/pull.hpp"
#include "oci/reference.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace oci {

// The empty config descriptor artifacts use (image-spec 1.1).
inline constexpr std::string_view k_empty_config_type = "application/vnd.oci.empty.v1+json";

struct ArtifactBlob {
  std::string media_type;
  std::string title;  // annotation org.opencontainers.image.title
  std::string data;
};

struct ArtifactPush {
  std::string artifact_type;
  std::vector<ArtifactBlob> blobs;
  std::map<std::string, std::string> annotations;  // manifest annotations
};

// Pushes the blobs and the manifest to `ref` (a tag; "latest" when none).
// Returns the manifest digest ("sha256:...").
util::Result<std::string> push_artifact(const util::Dirs& dirs, const Reference& ref, const ArtifactPush& artifact);

struct ArtifactFile {
  std::string media_type, title, digest;
  uint64_t size = 0;
  std::filesystem::path blob;  // verified file in the store
};

struct PulledArtifact {
  std::string manifest_digest;
  std::vector<ArtifactFile> files;
  const ArtifactFile* find(std::string_view title) const;
};

// Pulls `ref` (which must carry a digest) and checks its artifactType.
// Answered from the store without network when the manifest and every blob
// are there (a digest never changes).
util::Result<PulledArtifact> pull_artifact(const util::Dirs& dirs, const Reference& ref,
                                           std::string_view artifact_type);

// Parses an artifact manifest (exposed for tests).
util::Result<PulledArtifact> parse_artifact_manifest(std::string_view bytes, std::string_view artifact_type);

}  // namespace oci
