// Image references: registry references with Docker-style normalisation
// ("alpine" -> "docker.io/library/alpine:latest") and the offline transports
// oci-layout:DIR[:tag|@digest], docker-archive:FILE, oci-archive:FILE.
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace oci {

enum class ReferenceKind { Registry, OciLayout, DockerArchive, OciArchive };

struct Reference {
  ReferenceKind kind = ReferenceKind::Registry;
  std::string registry;    // "docker.io", "127.0.0.1:5000" (Registry only)
  std::string repository;  // "library/alpine" (Registry only)
  std::string tag;         // "latest"; empty when only a digest was given
  std::string digest;      // "sha256:<64 hex>" or empty
  std::string path;        // directory/file for the offline kinds (as written; resolve against the Matchlockfile dir)

  // Canonical form: "docker.io/library/alpine:latest@sha256:..." or
  // "oci-layout:/abs/dir:tag". Parsing to_string() gives an equal Reference.
  std::string to_string() const;
  // "docker.io/library/alpine" (Registry) or the path.
  std::string name() const;
  bool operator==(const Reference&) const = default;
};

// Parses and normalises. Errors name what is wrong ("invalid tag \"A B\": ...").
util::Result<Reference> parse_reference(std::string_view text);

}  // namespace oci
