// The memory snapshot store: <cache>/snapshots/<key>/ holds one saved VM
// (docs/ARCHITECTURE.md, "Memory snapshots"):
//   ram         guest RAM (sparse; resumed VMs map it private, copy-on-write)
//   state       QEMU's device state (the migration stream, RAM excluded: x-ignore-shared)
//   upper.ext4  the writable disk as it was when the VM was paused (sparse)
//   meta.json   key, the key's inputs, origin, sizes; written last
// A snapshot is written into <cache>/snapshots/.tmp-XXXXXX and renamed into place
// whole; it is never modified after that (resumed VMs may still map its ram).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "oci/image_records.hpp"
#include "util/result.hpp"
#include "util/temp_dir.hpp"
#include "util/xdg.hpp"

namespace engine {

struct MemorySnapshot {
  std::string key;
  std::filesystem::path dir;
  std::vector<std::string> inputs;  // describe(MemorySnapshotInputs) when it was saved
  std::string origin;               // the Matchlockfile or image reference that saved it
  std::string uname;                // the guest's uname, reported by resumed sandboxes
  int64_t created_unix = 0;
  uint64_t ram_bytes = 0;   // apparent size of ram (the guest's RAM)
  uint64_t disk_bytes = 0;  // apparent size of upper.ext4
  uint64_t bytes = 0;       // allocated on disk, all files
  std::filesystem::path ram() const { return dir / "ram"; }
  std::filesystem::path state() const { return dir / "state"; }
  std::filesystem::path upper() const { return dir / "upper.ext4"; }
};

std::filesystem::path memory_snapshots_dir(const util::Dirs& dirs);

// The snapshot KEY. NotFound when there is none; ErrorCode::Integrity with the reason
// when one is there but unusable (partial, truncated, its inputs differ from INPUTS,
// RAM or disk size differ from RAM_BYTES / DISK_BYTES): the caller boots cold.
util::Result<MemorySnapshot> find_memory_snapshot(const util::Dirs& dirs, const std::string& key,
                                                  const std::vector<std::string>& inputs, uint64_t ram_bytes,
                                                  uint64_t disk_bytes);

// A snapshot being written: files go into a temp dir, commit() publishes it.
class MemorySnapshotWriter {
 public:
  static util::Result<MemorySnapshotWriter> create(const util::Dirs& dirs, std::string key);
  const std::filesystem::path& dir() const { return m_tmp.path(); }
  // Writes meta.json, fsyncs every file and renames the directory to its key. A
  // snapshot already published under the key (a concurrent save) wins; ours is dropped.
  util::Result<MemorySnapshot> commit(MemorySnapshot meta);

 private:
  MemorySnapshotWriter(util::Dirs dirs, std::string key, util::TempDir tmp)
      : m_dirs(std::move(dirs)), m_key(std::move(key)), m_tmp(std::move(tmp)) {}
  util::Dirs m_dirs;
  std::string m_key;
  util::TempDir m_tmp;  // removed unless committed
};

// Removes snapshot KEY (renamed aside first, so no one finds a half-removed one).
util::Result<void> remove_memory_snapshot(const util::Dirs& dirs, const std::string& key);

// Every published snapshot whose meta.json reads, newest first.
std::vector<MemorySnapshot> list_memory_snapshots(const util::Dirs& dirs);

struct MemorySnapshotGcReport {
  uint64_t removed = 0;
  uint64_t bytes_reclaimed = 0;
  std::vector<std::string> paths;
};
// Keeps the newest snapshot per origin; removes older ones, those whose origin
// Matchlockfile no longer exists, unreadable ones and leftover temp dirs. Resumed sandboxes keep running: their ram stays mapped.
util::Result<MemorySnapshotGcReport> collect_memory_snapshots(const util::Dirs& dirs, oci::DryRun dry_run);

}  // namespace engine
