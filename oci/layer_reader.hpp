// LayerReader: streams the entries of one OCI layer blob (tar, tar+gzip or
// tar+zstd, autodetected) through libarchive. Nothing touches the host
// filesystem except reading the blob. A bomb guard bounds the uncompressed
// bytes and every entry's declared size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/fd.hpp"
#include "util/result.hpp"

struct archive;

namespace oci {

enum class EntryType { Regular, Directory, Symlink, Hardlink, CharDevice, BlockDevice, Fifo };

struct TarEntry {
  std::string path;  // as stored in the archive (not yet normalised)
  EntryType type = EntryType::Regular;
  uint32_t mode = 0;  // permission bits incl. setuid/setgid/sticky (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime = 0;
  uint32_t mtime_nsec = 0;
  uint64_t size = 0;        // declared size (regular files)
  std::string link_target;  // symlink target or hardlink target path
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;  // sorted by name
};

struct LayerLimits {
  uint64_t max_bytes = 0;            // uncompressed tar stream bytes; 0 = unlimited
  uint64_t max_expansion_ratio = 0;  // uncompressed / compressed, past k_ratio_floor; 0 = off
};

constexpr uint64_t k_ratio_floor = 256ull << 20;

class LayerReader {
 public:
  // LABEL names the layer (usually its digest); errors leave it to the caller.
  static util::Result<LayerReader> open(const std::filesystem::path& blob, std::string label, LayerLimits limits);
  // The same over a blob in memory; BLOB must outlive the reader (tests, fuzzing).
  static util::Result<LayerReader> open_memory(std::string_view blob, std::string label, LayerLimits limits);
  ~LayerReader();
  LayerReader(LayerReader&&) noexcept;
  LayerReader& operator=(LayerReader&&) noexcept;

  // Reads the next header into ENTRY; false at the end of the archive.
  util::Result<bool> next(TarEntry& entry);
  // Streams the current entry's data: SINK(offset, bytes) for each block in
  // file order. Holes of sparse entries are simply not reported.
  using DataSink = std::function<util::Result<void>(uint64_t offset, std::string_view bytes)>;
  util::Result<void> read_data(const DataSink& sink);
  util::Result<void> skip_data();
  const std::string& label() const { return m_label; }

 private:
  LayerReader(util::Fd fd, std::string label, LayerLimits limits, archive* a);
  static void enable_formats(archive* a);
  util::Error archive_failure(std::string_view what) const;
  util::Result<void> check_bomb() const;

  util::Fd m_fd;
  std::string m_label;
  LayerLimits m_limits;
  archive* m_archive = nullptr;
};

}  // namespace oci
