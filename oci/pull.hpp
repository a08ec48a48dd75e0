// pull_image: resolve a reference (registry, mirror or offline layout), pick
// the platform, fetch and verify manifest, config and layers into the content
// store. Everything returned is verified and published in the store.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "oci/image_config.hpp"
#include "oci/platform.hpp"
#include "oci/progress.hpp"
#include "oci/reference.hpp"
#include "oci/registry_settings.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace oci {

struct Layer {
  std::string media_type;  // ...tar, ...tar+gzip, ...tar+zstd (OCI or Docker names)
  std::string digest;      // "sha256:..."
  uint64_t size = 0;
  std::filesystem::path blob;  // verified file in the store
};

struct PulledImage {
  Reference reference;
  std::string source;        // where it really came from: "https://127.0.0.1:5000", mirror, "oci-layout:/dir"
  std::string index_digest;  // may be empty (reference pointed at a manifest)
  std::string manifest_digest, config_digest;
  ImageConfig config;
  std::vector<Layer> layers;
};

enum class Frozen { No, Yes };

// docker's --pull: Always re-resolves a tag at the registry; Missing answers it
// from the store when the last pull left a complete image; Never fails rather
// than touch the network. A digest (in the reference or pinned by the lock) is
// answered from the store under every policy when the store has it all.
enum class PullPolicy { Always, Missing, Never };

struct PullOptions {
  Platform platform = Platform::host();
  ProgressSink* progress = nullptr;
  // When set, the manifest must have exactly this digest (lockfile pin);
  // the registry is asked for the digest, not the tag.
  std::string expected_manifest_digest;
  // Registry mirrors, insecure hosts (from $XDG_CONFIG_HOME/matchlock/config.toml).
  RegistrySettings settings;
  PullPolicy policy = PullPolicy::Always;
};

util::Result<PulledImage> pull_image(const util::Dirs& dirs, const Reference& ref, const PullOptions& options);

class RegistryClient;
class Store;
// A client for REPOSITORY on HOST with the user's credentials (~/.docker/config.json),
// plain HTTP allowed for localhost and registries marked insecure, scheme remembered.
util::Result<std::unique_ptr<RegistryClient>> connect_registry(const std::string& host, const std::string& repository,
                                                               const RegistrySettings& settings, const Store& store);

}  // namespace oci
