// Rootfs: OCI layers -> one deterministic ext4 image written with libext2fs.
//
// Layers are applied in order with OCI whiteouts into an in-memory tree
// (nothing is extracted onto the host filesystem), then the tree is written as
// an ext4 image. The same layers and manifest digest give a bit-identical file
// on any machine and in any cache path: UUID and hash seed are derived from
// the manifest digest, inodes are allocated in sorted tree order and every
// timestamp comes from the tar headers. Hostile layers are normalised the way
// containerd does or rejected (docs/threat-model.md, "Image layers").
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "util/xdg.hpp"

namespace oci {

struct RootfsLayer {
  std::filesystem::path blob;  // tar, tar+gzip or tar+zstd (autodetected)
  std::string media_type;
  std::string digest;  // "sha256:..." (used in error messages)
};

struct RootfsOptions {
  uint64_t headroom_bytes = 256ull << 20;  // free space added to the content
  uint64_t max_layer_bytes = 16ull << 30;  // bomb guard: uncompressed tar bytes per layer
  uint64_t max_entries = 4'000'000;        // bomb guard: tar entries over all layers
  // Bomb guard: once a layer has produced more than 256 MiB, refuse it if it
  // expands more than this many times its compressed size (0 = off). Real
  // layers expand 2-5x; gzip of zeros expands ~1000x.
  uint64_t max_expansion_ratio = 200;
  // ensure_rootfs: called once just before it builds (never on a cache hit).
  std::function<void()> on_build;
};

struct Rootfs {
  std::filesystem::path path;
  std::string sha256;  // lowercase hex of the image file
  uint64_t size_bytes = 0;
};

// Writes an ext4 image at out_path (atomically: temp + fsync + rename).
// On failure nothing is left at out_path or beside it.
util::Result<Rootfs> build_rootfs(const std::vector<RootfsLayer>& layers, std::string_view manifest_digest,
                                  const std::filesystem::path& out_path, const RootfsOptions& options);

// Cache level: DIRS.cache/rootfs/<manifest-hex>.ext4 plus a <manifest-hex>.json
// sidecar with sha256 and size; built once under a file lock, reused afterwards.
util::Result<Rootfs> ensure_rootfs(const util::Dirs& dirs, std::string_view manifest_digest,
                                   const std::vector<RootfsLayer>& layers, const RootfsOptions& options);

// Where ensure_rootfs keeps the image for MANIFEST_DIGEST ("sha256:<hex>").
util::Result<std::filesystem::path> rootfs_cache_path(const util::Dirs& dirs, std::string_view manifest_digest);

}  // namespace oci
