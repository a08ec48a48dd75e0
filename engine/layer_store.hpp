// The cache of task layer disks (docs/tasks.md, "Cached layers"):
// <cache>/layers/<key>.ext4 is a copy of a sandbox's writable disk, taken
// frozen right after a `cache = true` task succeeded; <key>.json describes it.
// A layer is usable when both files exist and so do the layers it was captured
// on top of (`lowers`). Keys come from engine/task_layers.hpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "oci/image_records.hpp"
#include "oci/store.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

struct LayerMeta {
  std::string key;  // 64 hex digits
  std::string task;
  std::string file;                 // the Matchlockfile whose task made it
  std::vector<std::string> lowers;  // keys of the layers it was captured on, topmost first
  int64_t created_unix = 0;
  uint64_t bytes = 0;  // allocated size of the disk file
};

std::filesystem::path layers_dir(const util::Dirs& dirs);
std::filesystem::path layer_disk_path(const util::Dirs& dirs, const std::string& key);
// NotFound when the layer (disk or description) is missing.
util::Result<LayerMeta> read_layer(const util::Dirs& dirs, const std::string& key);
// KEY plus every lower, topmost first, when all of them are usable; empty otherwise.
std::vector<std::string> layer_stack(const util::Dirs& dirs, const std::string& key);

// Copies SRC sparsely (FICLONE when the filesystem can, else only its data
// extents) into a temp file, fsyncs and publishes it as META.key; returns META
// with bytes and created_unix filled in.
util::Result<LayerMeta> publish_layer(const util::Dirs& dirs, const std::filesystem::path& src, LayerMeta meta);
// Copies SRC to DST (an empty file) keeping holes.
util::Result<void> copy_sparse(int src, int dst);

struct LayerGcReport {
  uint64_t removed = 0;
  uint64_t bytes_reclaimed = 0;
  std::vector<std::string> paths;
};
// The lock between choosing layers and collecting them: `up` holds it Shared
// from plan_sandbox_layers until its sandbox record names the layers it will
// boot on; collect_layers holds it Exclusive. (cache/locks/layers.lock)
util::Result<oci::FileLock> lock_layers(const util::Dirs& dirs, oci::LockMode mode);

// Keeps every layer a sandbox in the state dir uses (and its lowers) and, per
// (Matchlockfile, task), the newest layer (and its lowers); removes the rest
// and leftover temp files. Waits for lock_layers(Exclusive).
util::Result<LayerGcReport> collect_layers(const util::Dirs& dirs, oci::DryRun dry_run);

}  // namespace engine
