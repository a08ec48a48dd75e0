// Image records: which references were pulled, for which platform, from
// where, and which blobs they keep alive. One JSON file per (reference,
// platform) under images/. gc keeps exactly what the records reference.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "oci/store.hpp"
#include "util/result.hpp"

namespace oci {

struct ImageRecord {
  std::string reference;  // canonical Reference::to_string()
  std::string platform;   // "linux/amd64"
  std::string source;     // where it really came from
  std::string index_digest, manifest_digest, config_digest;
  std::vector<std::string> blobs;  // every digest the image needs (index, manifest, config, layers)
  uint64_t size = 0;               // config + layers, compressed
  int64_t pulled_at = 0;           // unix seconds
};

util::Result<void> write_image_record(const Store& store, const ImageRecord& record);
// Sorted by reference, then platform. Unreadable records are skipped with a warning.
util::Result<std::vector<ImageRecord>> list_image_records(const Store& store);
// The record for exactly (canonical reference, platform); nullopt when there is none
// (or it is unreadable). One file read: the warm-resolve path uses it.
std::optional<ImageRecord> find_image_record(const Store& store, const std::string& reference,
                                             const std::string& platform);
// Removes the records whose reference (canonical, or as given when it matches
// exactly) or manifest digest equals `what`; returns the removed ones.
util::Result<std::vector<ImageRecord>> remove_image_records(const Store& store, const std::string& what);

enum class DryRun { No, Yes };

struct GcReport {
  uint64_t blobs_removed = 0, rootfs_removed = 0, other_removed = 0;
  uint64_t bytes_reclaimed = 0;
  std::vector<std::string> removed;  // paths relative to the cache root
};

// Takes the store lock exclusively (waits for running pulls). Kernels are never touched.
util::Result<GcReport> collect_garbage(const Store& store, DryRun dry_run);

}  // namespace oci
