// Where manifests and blobs come from: a registry (or mirror registry), an OCI
// layout directory, or an archive. pull.cpp only talks to this interface.
#pragma once

#include <string>
#include <string_view>

#include "oci/manifest.hpp"
#include "oci/progress.hpp"
#include "oci/store.hpp"
#include "util/result.hpp"

namespace oci {

struct FetchedManifest {
  std::string bytes;
  std::string content_type;
  std::string digest;  // sha256 of bytes, verified against the request when it was a digest
};

class Source {
 public:
  virtual ~Source() = default;
  // `reference` is a tag or a digest ("sha256:...").
  virtual util::Result<FetchedManifest> fetch_manifest(std::string_view reference) = 0;
  // Fetches the blob into the store (verified). Called with the blob's lock held.
  virtual util::Result<void> fetch_blob(const Descriptor& blob, const Store& store, ProgressSink* progress) = 0;
  // "https://127.0.0.1:5000/busybox", "oci-layout:/srv/layout"
  virtual std::string describe() const = 0;
};

// Shared check: the bytes hash to `expected` (when it is a digest).
util::Result<std::string> verify_manifest_digest(std::string_view bytes, std::string_view requested);

}  // namespace oci
