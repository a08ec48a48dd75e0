#include "oci/ext4_writer.hpp"

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <et/com_err.h>

#include <cstring>
#include <limits>
#include <mutex>
#include <unordered_map>

#include "util/log.hpp"

namespace oci {

using util::ErrorCode;
using util::Result;

namespace {

constexpr uint32_t k_extra_isize = sizeof(ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;
constexpr uint32_t k_max_file_links = 65000;  // EXT4_LINK_MAX

void init_error_table() {
  static std::once_flag once;
  std::call_once(once, [] { initialize_ext2_error_table(); });
}

// ext4 stores seconds as 32 bits plus 2 epoch bits in the *_extra field.
uint32_t time_extra(int64_t sec, uint32_t nsec) {
  auto epoch = static_cast<uint32_t>(((sec - static_cast<int64_t>(static_cast<int32_t>(sec))) >> 32) & 3);
  return epoch | (nsec << 2);
}

int64_t clamp_time(int64_t sec) {
  constexpr int64_t lo = std::numeric_limits<int32_t>::min();
  constexpr int64_t hi = lo + (int64_t{1} << 34) - 1;
  return sec < lo ? lo : sec > hi ? hi : sec;
}

uint16_t mode_type(EntryType t) {
  switch (t) {
    case EntryType::Regular:
      return LINUX_S_IFREG;
    case EntryType::Directory:
      return LINUX_S_IFDIR;
    case EntryType::Symlink:
      return LINUX_S_IFLNK;
    case EntryType::CharDevice:
      return LINUX_S_IFCHR;
    case EntryType::BlockDevice:
      return LINUX_S_IFBLK;
    case EntryType::Fifo:
      return LINUX_S_IFIFO;
    case EntryType::Hardlink:
      break;
  }
  return LINUX_S_IFREG;
}

int dirent_type(EntryType t) {
  switch (t) {
    case EntryType::Regular:
      return EXT2_FT_REG_FILE;
    case EntryType::Directory:
      return EXT2_FT_DIR;
    case EntryType::Symlink:
      return EXT2_FT_SYMLINK;
    case EntryType::CharDevice:
      return EXT2_FT_CHRDEV;
    case EntryType::BlockDevice:
      return EXT2_FT_BLKDEV;
    case EntryType::Fifo:
      return EXT2_FT_FIFO;
    case EntryType::Hardlink:
      break;
  }
  return EXT2_FT_UNKNOWN;
}

// xattr namespaces ext4 can store; containerd likewise skips what the
// filesystem refuses (ENOTSUP).
bool storable_xattr(const std::string& name) {
  return name.starts_with("user.") || name.starts_with("trusted.") || name.starts_with("security.") ||
         name == "system.posix_acl_access" || name == "system.posix_acl_default";
}

void count_links(const Node& dir, std::unordered_map<const Inode*, uint32_t>& links) {
  for (const auto& [_, child] : dir.children) {
    if (child->is_dir())
      count_links(*child, links);
    else
      ++links[child->inode.get()];
  }
}

}  // namespace

util::Error ext2_error(long code, std::string_view what) {
  init_error_table();
  return util::make_error(ErrorCode::Io, "libext2fs: " + std::string(what) + ": " + error_message(code));
}

Result<Ext4Image> Ext4Image::create(const std::filesystem::path& path, const Ext4Geometry& geometry,
                                    const Ext4Identity& identity) {
  init_error_table();
  if (geometry.inodes > std::numeric_limits<uint32_t>::max())
    return util::make_error(ErrorCode::Unsupported, "image needs more than 2^32 inodes");
  ext2_super_block param;
  std::memset(&param, 0, sizeof(param));
  ext2fs_blocks_count_set(&param, geometry.blocks);
  param.s_log_block_size = 2;  // 4096
  param.s_inodes_count = static_cast<uint32_t>(geometry.inodes);
  param.s_rev_level = EXT2_DYNAMIC_REV;
  param.s_inode_size = k_inode_size;
  param.s_log_groups_per_flex = 4;
  param.s_desc_size = EXT2_MIN_DESC_SIZE_64BIT;
  param.s_min_extra_isize = k_extra_isize;
  param.s_want_extra_isize = k_extra_isize;
  param.s_feature_compat = EXT2_FEATURE_COMPAT_DIR_INDEX | EXT2_FEATURE_COMPAT_EXT_ATTR;
  param.s_feature_incompat = EXT2_FEATURE_INCOMPAT_FILETYPE | EXT3_FEATURE_INCOMPAT_EXTENTS |
                             EXT4_FEATURE_INCOMPAT_FLEX_BG | EXT4_FEATURE_INCOMPAT_64BIT;
  param.s_feature_ro_compat = EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | EXT2_FEATURE_RO_COMPAT_LARGE_FILE |
                              EXT4_FEATURE_RO_COMPAT_HUGE_FILE | EXT4_FEATURE_RO_COMPAT_DIR_NLINK |
                              EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE | EXT4_FEATURE_RO_COMPAT_METADATA_CSUM;
  ext2fs_r_blocks_count_set(&param, 0);

  ext2_filsys fs = nullptr;
  errcode_t err = ext2fs_initialize(path.c_str(), EXT2_FLAG_64BITS, &param, unix_io_manager, &fs);
  if (err) return ext2_error(err, "initialize " + path.string());
  Ext4Image image(fs);

  // Nothing below may read the clock or a random source.
  fs->now = identity.timestamp == 0 ? 1 : identity.timestamp;
  auto ts = static_cast<uint32_t>(fs->now);
  ext2_super_block* sb = fs->super;
  sb->s_mkfs_time = ts;
  sb->s_wtime = ts;
  sb->s_lastcheck = ts;
  sb->s_mtime = 0;
  std::memcpy(sb->s_uuid, identity.uuid.data(), sizeof(sb->s_uuid));
  std::memcpy(sb->s_hash_seed, identity.hash_seed.data(), sizeof(sb->s_hash_seed));
  sb->s_def_hash_version = EXT2_HASH_HALF_MD4;
  sb->s_flags = (sb->s_flags & ~(EXT2_FLAGS_SIGNED_HASH | EXT2_FLAGS_UNSIGNED_HASH)) | EXT2_FLAGS_UNSIGNED_HASH;
  sb->s_checksum_type = EXT2_CRC32C_CHKSUM;
  sb->s_max_mnt_count = static_cast<__s16>(-1);
  sb->s_checkinterval = 0;
  sb->s_default_mount_opts = EXT2_DEFM_XATTR_USER | EXT2_DEFM_ACL;
  static constexpr char k_label[] = "matchlock-rootfs";
  static_assert(sizeof(k_label) - 1 <= sizeof(sb->s_volume_name));
  std::memcpy(sb->s_volume_name, k_label, sizeof(k_label) - 1);
  ext2fs_init_csum_seed(fs);

  err = ext2fs_allocate_tables(fs);
  if (err) return ext2_error(err, "allocate group tables");
  err = ext2fs_convert_subcluster_bitmap(fs, &fs->block_map);
  if (err) return ext2_error(err, "convert block bitmap");
  // The image file starts sparse (all zeroes), so the inode tables are zeroed.
  for (dgrp_t g = 0; g < fs->group_desc_count; ++g) {
    ext2fs_bg_flags_set(fs, g, EXT2_BG_INODE_ZEROED);
    ext2fs_group_desc_csum_set(fs, g);
  }
  ext2fs_mark_super_dirty(fs);
  return image;
}

Ext4Image::~Ext4Image() {
  if (m_fs) ext2fs_free(m_fs);
}

Ext4Image::Ext4Image(Ext4Image&& other) noexcept : m_fs(std::exchange(other.m_fs, nullptr)) {}

Ext4Image& Ext4Image::operator=(Ext4Image&& other) noexcept {
  if (this != &other) {
    if (m_fs) ext2fs_free(m_fs);
    m_fs = std::exchange(other.m_fs, nullptr);
  }
  return *this;
}

uint64_t Ext4Image::free_blocks() const { return ext2fs_free_blocks_count(m_fs->super); }

Result<void> Ext4Image::close() {
  ext2_filsys fs = std::exchange(m_fs, nullptr);
  errcode_t err = ext2fs_close_free(&fs);
  if (err) return ext2_error(err, "close filesystem");
  return util::ok();
}

namespace {
uint32_t dir_links(const Node& dir) {
  uint32_t subdirs = 0;
  for (const auto& [_, c] : dir.children) subdirs += c->is_dir() ? 1 : 0;
  return subdirs + 2 >= EXT2_LINK_MAX ? 1 : subdirs + 2;  // dir_nlink: 1 means "many"
}
}  // namespace

Result<void> Ext4Image::write_tree(Node& root) {
  std::unordered_map<const Inode*, uint32_t> links;
  count_links(root, links);
  for (auto& [inode, n] : links) {
    if (n > k_max_file_links) return util::make_error(ErrorCode::Integrity, "a file has more than 65000 hardlinks");
    const_cast<Inode*>(inode)->nlink = n;
    const_cast<Inode*>(inode)->ino = 0;
  }
  if (!root.children.contains("lost+found")) {
    // e2fsck wants /lost+found; mke2fs creates it 0700.
    auto lf = std::make_unique<Node>();
    lf->inode = std::make_shared<Inode>();
    lf->inode->mode = 0700;
    root.children.emplace("lost+found", std::move(lf));
  }

  // Root, the reserved inodes and the (empty) bad-block inode, as mke2fs does.
  ext2fs_inode_alloc_stats2(m_fs, EXT2_ROOT_INO, +1, 1);
  for (ext2_ino_t i = EXT2_ROOT_INO + 1; i < EXT2_FIRST_INODE(m_fs->super); ++i)
    ext2fs_inode_alloc_stats2(m_fs, i, +1, 0);
  ext2fs_inode_alloc_stats2(m_fs, EXT2_BAD_INO, +1, 0);
  errcode_t err = ext2fs_update_bb_inode(m_fs, nullptr);
  if (err) return ext2_error(err, "write bad-block inode");

  root.inode->ino = EXT2_ROOT_INO;
  ML_TRY(write_dir(root, EXT2_ROOT_INO, EXT2_ROOT_INO, 0));
  return finish_inode(EXT2_ROOT_INO, *root.inode, dir_links(root));
}

// Creates the inodes of DIR's children, writes DIR's blocks, then recurses.
Result<void> Ext4Image::write_dir(Node& dir, uint32_t dir_ino, uint32_t parent_ino, size_t depth) {
  if (depth > k_max_depth) return util::make_error(ErrorCode::Integrity, "directory tree too deep");
  std::vector<DirEntry> entries;
  entries.reserve(dir.children.size() + 2);
  entries.push_back({".", dir_ino, EXT2_FT_DIR});
  entries.push_back({"..", parent_ino, EXT2_FT_DIR});
  for (auto& [name, child] : dir.children) {
    Inode& inode = *child->inode;
    if (inode.ino == 0) inode.ino = ML_TRY(create_inode(name, *child, dir_ino));  // else: another name
    entries.push_back({name, inode.ino, dirent_type(inode.type)});
  }
  ML_TRY(write_dir_blocks(dir_ino, static_cast<uint16_t>(dir.inode->mode), entries));
  for (auto& [name, child] : dir.children) {
    if (!child->is_dir()) continue;
    ML_TRY_CTX(write_dir(*child, child->inode->ino, dir_ino, depth + 1), name);
    ML_TRY_CTX(finish_inode(child->inode->ino, *child->inode, dir_links(*child)), name);
  }
  return util::ok();
}

// Allocates and writes a child's inode (directories: number only).
Result<uint32_t> Ext4Image::create_inode(const std::string& name, Node& node, uint32_t dir_ino) {
  const Inode& in = *node.inode;
  ext2_ino_t ino = 0;
  errcode_t err = ext2fs_new_inode(m_fs, dir_ino, mode_type(in.type) | (in.mode & 07777), nullptr, &ino);
  if (err) return ext2_error(err, "allocate inode for " + name);

  if (in.type == EntryType::Directory) {
    ext2fs_inode_alloc_stats2(m_fs, ino, +1, 1);  // its blocks are written by write_dir
    return ino;
  }
  if (in.type == EntryType::Symlink) {
    std::string target = in.symlink_target;
    err = ext2fs_symlink(m_fs, dir_ino, ino, nullptr, target.data());
    if (err) return ext2_error(err, "symlink " + name);
    ML_TRY_CTX(finish_inode(ino, in, in.nlink), name);
    return ino;
  }

  ext2_inode_large li;
  std::memset(&li, 0, sizeof(li));
  li.i_mode = static_cast<__u16>(mode_type(in.type) | (in.mode & 07777));
  li.i_links_count = 1;
  li.i_extra_isize = k_extra_isize;
  if (in.type == EntryType::Regular) {
    err = ext2fs_inode_size_set(m_fs, reinterpret_cast<ext2_inode*>(&li), in.size);
    if (err) return ext2_error(err, "size of " + name);
    ext2_extent_handle_t handle = nullptr;
    err = ext2fs_extent_open2(m_fs, ino, reinterpret_cast<ext2_inode*>(&li), &handle);
    if (err) return ext2_error(err, "extent header of " + name);
    ext2fs_extent_free(handle);
  } else if (in.type == EntryType::CharDevice || in.type == EntryType::BlockDevice) {
    if (in.rdev_major < 256 && in.rdev_minor < 256) {
      li.i_block[0] = in.rdev_major * 256 + in.rdev_minor;
    } else {
      li.i_block[1] = (in.rdev_minor & 0xff) | (in.rdev_major << 8) | ((in.rdev_minor & ~0xffu) << 12);
    }
  }
  err = ext2fs_write_inode_full(m_fs, ino, reinterpret_cast<ext2_inode*>(&li), sizeof(li));
  if (err) return ext2_error(err, "write inode of " + name);
  ext2fs_inode_alloc_stats2(m_fs, ino, +1, 0);
  ML_TRY_CTX(finish_inode(ino, in, in.nlink), name);
  return ino;
}

Result<void> Ext4Image::finish_inode(uint32_t ino, const Inode& in, uint32_t links) {
  ext2_inode_large li;
  std::memset(&li, 0, sizeof(li));
  errcode_t err = ext2fs_read_inode_full(m_fs, ino, reinterpret_cast<ext2_inode*>(&li), sizeof(li));
  if (err) return ext2_error(err, "read inode " + std::to_string(ino));
  li.i_mode = static_cast<__u16>((li.i_mode & 0xF000) | (in.mode & 07777));
  li.i_uid = static_cast<__u16>(in.uid & 0xffff);
  li.osd2.linux2.l_i_uid_high = static_cast<__u16>(in.uid >> 16);
  li.i_gid = static_cast<__u16>(in.gid & 0xffff);
  li.osd2.linux2.l_i_gid_high = static_cast<__u16>(in.gid >> 16);
  li.i_links_count = static_cast<__u16>(links);
  int64_t sec = clamp_time(in.mtime);
  auto lo = static_cast<__u32>(sec);
  uint32_t extra = time_extra(sec, in.mtime_nsec);
  li.i_atime = li.i_ctime = li.i_mtime = li.i_crtime = lo;
  li.i_dtime = 0;
  li.i_generation = 0;
  if (li.i_extra_isize < k_extra_isize) li.i_extra_isize = k_extra_isize;
  li.i_atime_extra = li.i_ctime_extra = li.i_mtime_extra = li.i_crtime_extra = extra;
  err = ext2fs_write_inode_full(m_fs, ino, reinterpret_cast<ext2_inode*>(&li), sizeof(li));
  if (err) return ext2_error(err, "write inode " + std::to_string(ino));

  bool any = false;
  for (const auto& [name, _] : in.xattrs) any = any || storable_xattr(name);
  if (!any) return util::ok();
  ext2_xattr_handle* h = nullptr;
  err = ext2fs_xattrs_open(m_fs, ino, &h);
  if (err) return ext2_error(err, "open xattrs");
  err = ext2fs_xattrs_read(h);
  for (const auto& [name, value] : in.xattrs) {
    if (err) break;
    if (!storable_xattr(name)) {
      util::log::debug("rootfs: skipping xattr " + name + " (namespace not supported by ext4)");
      continue;
    }
    err = ext2fs_xattr_set(h, name.c_str(), value.data(), value.size());
    if (err) {
      ext2fs_xattrs_close(&h);
      return ext2_error(err, "set xattr " + name + " (" + std::to_string(value.size()) + " bytes)");
    }
  }
  errcode_t close_err = ext2fs_xattrs_close(&h);
  if (err) return ext2_error(err, "read xattrs");
  if (close_err) return ext2_error(close_err, "write xattrs");
  return util::ok();
}

}  // namespace oci
