// Ext4FileData: streams one regular file's content into the image.
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include <cstring>

#include "oci/ext4_writer.hpp"

namespace oci {

using util::ErrorCode;
using util::Result;

namespace {

bool all_zero(const char* p, size_t n) {
  static const char zeros[k_block_size] = {};
  while (n >= k_block_size) {
    if (std::memcmp(p, zeros, k_block_size) != 0) return false;
    p += k_block_size;
    n -= k_block_size;
  }
  return n == 0 || std::memcmp(p, zeros, n) == 0;
}

}  // namespace

Result<Ext4FileData> Ext4Image::open_file(const Inode& inode) {
  ext2_file_t file = nullptr;
  errcode_t err = ext2fs_file_open(m_fs, inode.ino, EXT2_FILE_WRITE, &file);
  if (err) return ext2_error(err, "open inode " + std::to_string(inode.ino));
  return Ext4FileData(file, inode.size);
}

Ext4FileData::~Ext4FileData() {
  if (m_file) ext2fs_file_close(m_file);
}

Ext4FileData::Ext4FileData(Ext4FileData&& other) noexcept
    : m_file(std::exchange(other.m_file, nullptr)),
      m_size(other.m_size),
      m_pos(other.m_pos),
      m_partial_start(other.m_partial_start),
      m_partial(std::move(other.m_partial)) {}

Result<void> Ext4FileData::write_run(uint64_t offset, std::string_view bytes) {
  errcode_t err = ext2fs_file_llseek(m_file, offset, EXT2_SEEK_SET, nullptr);
  if (err) return ext2_error(err, "seek");
  while (!bytes.empty()) {
    unsigned int written = 0;
    size_t chunk = std::min<size_t>(bytes.size(), 1u << 30);
    err = ext2fs_file_write(m_file, bytes.data(), static_cast<unsigned int>(chunk), &written);
    if (err) return ext2_error(err, "write file data");
    if (written == 0) return util::make_error(ErrorCode::Io, "libext2fs: short write of file data");
    bytes.remove_prefix(written);
  }
  return util::ok();
}

Result<void> Ext4FileData::flush_partial() {
  if (m_partial.empty()) return util::ok();
  if (!all_zero(m_partial.data(), m_partial.size())) ML_TRY(write_run(m_partial_start, m_partial));
  m_partial.clear();
  return util::ok();
}

Result<void> Ext4FileData::write(uint64_t offset, std::string_view bytes) {
  if (offset < m_pos || offset > m_size || bytes.size() > m_size - offset)
    return util::make_error(ErrorCode::Integrity, "file data out of order or beyond the declared size");
  while (!bytes.empty()) {
    uint64_t block_start = offset & ~uint64_t{k_block_size - 1};
    if (!m_partial.empty() && m_partial_start != block_start) ML_TRY(flush_partial());
    if (m_partial.empty() && offset == block_start && bytes.size() >= k_block_size) {
      // Whole blocks straight from the caller's buffer, in runs of non-zero blocks.
      size_t n = bytes.size() & ~size_t{k_block_size - 1};
      size_t i = 0;
      while (i < n) {
        while (i < n && all_zero(bytes.data() + i, k_block_size)) i += k_block_size;
        size_t run = i;
        while (run < n && !all_zero(bytes.data() + run, k_block_size)) run += k_block_size;
        if (run > i) ML_TRY(write_run(offset + i, bytes.substr(i, run - i)));
        i = run;
      }
      offset += n;
      bytes.remove_prefix(n);
      continue;
    }
    if (m_partial.empty()) m_partial_start = block_start;
    // Bytes of the block before OFFSET that were a hole read as zeroes.
    if (m_partial.size() < offset - block_start) m_partial.resize(offset - block_start, '\0');
    size_t take = std::min<size_t>(bytes.size(), block_start + k_block_size - offset);
    m_partial.append(bytes.data(), take);
    offset += take;
    bytes.remove_prefix(take);
    if (m_partial.size() == k_block_size) ML_TRY(flush_partial());
  }
  m_pos = offset;
  return util::ok();
}

Result<void> Ext4FileData::finish() {
  ML_TRY(flush_partial());
  ext2_file_t file = std::exchange(m_file, nullptr);
  errcode_t err = ext2fs_file_close(file);
  if (err) return ext2_error(err, "close file");
  return util::ok();
}

}  // namespace oci
