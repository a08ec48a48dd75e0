// Ext4Image::write_dir_blocks: a directory's blocks packed in one pass (linear
// directories, entries in the given order), instead of one ext2fs_link() per
// entry, which rescans the directory each time (quadratic in its size).
#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include <cstring>
#include <vector>

#include "oci/ext4_writer.hpp"

namespace oci {

using util::Result;

Result<void> Ext4Image::write_dir_blocks(uint32_t ino, uint16_t mode, const std::vector<DirEntry>& entries) {
  ext2_filsys fs = m_fs;
  ext2_inode_large li;
  std::memset(&li, 0, sizeof(li));
  li.i_mode = static_cast<__u16>(LINUX_S_IFDIR | (mode & 07777));
  li.i_links_count = 2;
  li.i_extra_isize = sizeof(ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
  ext2_extent_handle_t handle = nullptr;
  errcode_t err = ext2fs_extent_open2(fs, ino, reinterpret_cast<ext2_inode*>(&li), &handle);
  if (err) return ext2_error(err, "extent header of directory " + std::to_string(ino));
  ext2fs_extent_free(handle);
  err = ext2fs_write_inode_full(fs, ino, reinterpret_cast<ext2_inode*>(&li), sizeof(li));
  if (err) return ext2_error(err, "write directory inode " + std::to_string(ino));

  const uint32_t bs = fs->blocksize;
  const bool csum = ext2fs_has_feature_metadata_csum(fs->super);
  const uint32_t usable = bs - (csum ? static_cast<uint32_t>(sizeof(ext2_dir_entry_tail)) : 0);
  std::vector<char> buf(bs, 0);
  uint32_t off = 0;
  uint32_t last_off = 0;
  blk64_t lblk = 0;

  auto flush = [&]() -> Result<void> {
    auto* last = reinterpret_cast<ext2_dir_entry*>(buf.data() + last_off);
    errcode_t e = ext2fs_set_rec_len(fs, usable - last_off, last);
    if (e) return ext2_error(e, "directory record length");
    if (csum) ext2fs_initialize_dirent_tail(fs, EXT2_DIRENT_TAIL(buf.data(), bs));
    blk64_t pblk = 0;
    e = ext2fs_bmap2(fs, ino, reinterpret_cast<ext2_inode*>(&li), nullptr, BMAP_ALLOC, lblk, nullptr, &pblk);
    if (e) return ext2_error(e, "allocate directory block");
    e = ext2fs_write_dir_block4(fs, pblk, buf.data(), 0, ino);
    if (e) return ext2_error(e, "write directory block");
    ++lblk;
    std::fill(buf.begin(), buf.end(), 0);
    off = 0;
    last_off = 0;
    return util::ok();
  };

  for (const DirEntry& e : entries) {
    auto len = static_cast<uint32_t>(e.name.size());
    uint32_t rec = EXT2_DIR_REC_LEN(len);
    if (off + rec > usable) ML_TRY(flush());
    auto* d = reinterpret_cast<ext2_dir_entry*>(buf.data() + off);
    d->inode = e.ino;
    err = ext2fs_set_rec_len(fs, rec, d);
    if (err) return ext2_error(err, "directory record length");
    ext2fs_dirent_set_name_len(d, static_cast<int>(len));
    ext2fs_dirent_set_file_type(d, e.file_type);
    std::memcpy(d->name, e.name.data(), len);
    last_off = off;
    off += rec;
  }
  if (off > 0) ML_TRY(flush());

  err = ext2fs_inode_size_set(fs, reinterpret_cast<ext2_inode*>(&li), lblk * bs);
  if (err) return ext2_error(err, "directory size");
  err = ext2fs_write_inode_full(fs, ino, reinterpret_cast<ext2_inode*>(&li), sizeof(li));
  if (err) return ext2_error(err, "write directory inode " + std::to_string(ino));
  return util::ok();
}

}  // namespace oci
