// Ext4Image: writes a flattened Tree as an ext4 filesystem with libext2fs,
// deterministically. Every value that mke2fs would take from the clock or
// from randomness (UUID, hash seed, times) comes from Ext4Identity, inodes
// are allocated in sorted pre-order, and only whole-block runs of non-zero
// file data are written (zero blocks stay holes, like mke2fs -d).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include "oci/tree.hpp"
#include "util/result.hpp"

struct struct_ext2_filsys;
struct ext2_file;

namespace oci {

constexpr uint32_t k_block_size = 4096;
constexpr uint32_t k_inode_size = 256;

struct Ext4Geometry {
  uint64_t blocks = 0;
  uint64_t inodes = 0;
};

struct Ext4Identity {
  std::array<uint8_t, 16> uuid{};
  std::array<uint8_t, 16> hash_seed{};
  int64_t timestamp = 1;  // superblock times; never 0 (libext2fs would read the clock)
};

class Ext4FileData;

class Ext4Image {
 public:
  // Formats the (already sized) file at PATH.
  static util::Result<Ext4Image> create(const std::filesystem::path& path, const Ext4Geometry& geometry,
                                        const Ext4Identity& identity);
  ~Ext4Image();
  Ext4Image(Ext4Image&&) noexcept;
  Ext4Image& operator=(Ext4Image&&) noexcept;

  uint64_t free_blocks() const;
  // Creates every inode and directory entry of ROOT; assigns Inode::ino.
  util::Result<void> write_tree(Node& root);
  // Streams a regular file's content (see Ext4FileData).
  util::Result<Ext4FileData> open_file(const Inode& inode);
  // Flushes and closes the filesystem.
  util::Result<void> close();

 private:
  struct DirEntry {
    std::string_view name;
    uint32_t ino;
    int file_type;
  };
  explicit Ext4Image(struct_ext2_filsys* fs) : m_fs(fs) {}
  util::Result<void> write_dir(Node& dir, uint32_t dir_ino, uint32_t parent_ino, size_t depth);
  util::Result<uint32_t> create_inode(const std::string& name, Node& node, uint32_t dir_ino);
  util::Result<void> write_dir_blocks(uint32_t ino, uint16_t mode, const std::vector<DirEntry>& entries);
  util::Result<void> finish_inode(uint32_t ino, const Inode& inode, uint32_t links);

  struct_ext2_filsys* m_fs = nullptr;
};

// Writes one regular file's data, given as (offset, bytes) in increasing
// offset order; all-zero blocks are skipped and stay holes.
class Ext4FileData {
 public:
  ~Ext4FileData();
  Ext4FileData(Ext4FileData&&) noexcept;
  Ext4FileData& operator=(Ext4FileData&&) = delete;
  Ext4FileData(const Ext4FileData&) = delete;

  util::Result<void> write(uint64_t offset, std::string_view bytes);
  util::Result<void> finish();

 private:
  friend class Ext4Image;
  Ext4FileData(ext2_file* file, uint64_t size) : m_file(file), m_size(size) {}
  util::Result<void> flush_partial();
  util::Result<void> write_run(uint64_t offset, std::string_view bytes);

  ext2_file* m_file = nullptr;
  uint64_t m_size = 0;
  uint64_t m_pos = 0;            // next expected offset
  uint64_t m_partial_start = 0;  // block-aligned offset of m_partial
  std::string m_partial;         // bytes of a block not yet complete
};

// "libext2fs: <what>: <message>" for an errcode_t.
util::Error ext2_error(long code, std::string_view what);

}  // namespace oci
