#include "oci/rootfs_size.hpp"

#include <unordered_set>

namespace oci {

namespace {

constexpr uint64_t k_dirent_tail = 12;  // metadata_csum tail per directory block
constexpr uint64_t k_inline_xattr_space = k_inode_size - 160 - 4;
constexpr uint64_t k_extents_per_block = (k_block_size - 12) / 12;

uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }
uint64_t round4(uint64_t n) { return (n + 3) & ~uint64_t{3}; }

// Extent-tree blocks for a mapping of DATA_BLOCKS blocks in at most RUNS pieces.
uint64_t extent_blocks(uint64_t data_blocks, uint64_t runs) {
  uint64_t extents = std::min(data_blocks, runs + 2 * div_up(data_blocks, 32768) + 2);
  if (extents <= 4) return 0;
  return div_up(extents, k_extents_per_block) + 1;
}

uint64_t xattr_blocks(const Inode& inode) {
  if (inode.xattrs.empty()) return 0;
  uint64_t bytes = 4;
  for (const auto& [name, value] : inode.xattrs) bytes += 16 + round4(name.size()) + round4(value.size());
  return bytes > k_inline_xattr_space ? 1 : 0;
}

void walk(const Node& dir, std::unordered_set<const Inode*>& seen, ContentEstimate& est) {
  uint64_t dirent_bytes = 12 + 12;  // "." and ".."
  for (const auto& [name, child] : dir.children) {
    dirent_bytes += 8 + round4(name.size());
    const Inode& inode = *child->inode;
    if (!seen.insert(&inode).second) continue;
    ++est.inodes;
    est.blocks += xattr_blocks(inode);
    switch (inode.type) {
      case EntryType::Directory:
        walk(*child, seen, est);
        break;
      case EntryType::Regular: {
        uint64_t data = inode.data_blocks;
        // Skipped zero blocks split extents too; bound the pieces by the block count.
        est.blocks += data + extent_blocks(data, data);
        break;
      }
      case EntryType::Symlink:
        if (inode.symlink_target.size() >= 60) est.blocks += 1;
        break;
      default:
        break;
    }
  }
  // Linear directories filled first-fit by ext2fs_link: allow 10% slack.
  uint64_t usable = k_block_size - k_dirent_tail;
  uint64_t blocks = div_up(dirent_bytes + dirent_bytes / 10, usable);
  est.blocks += blocks + extent_blocks(blocks, blocks);
}

}  // namespace

ContentEstimate estimate_content(const Node& root) {
  ContentEstimate est;
  std::unordered_set<const Inode*> seen;
  seen.insert(root.inode.get());
  est.inodes = 11 + 1 + 1;                     // reserved inodes, root, lost+found
  est.blocks = 2 + xattr_blocks(*root.inode);  // lost+found
  walk(root, seen, est);
  return est;
}

Ext4Geometry plan_geometry(const ContentEstimate& content, uint64_t headroom_bytes) {
  uint64_t headroom_blocks = div_up(headroom_bytes, k_block_size);
  uint64_t inodes = content.inodes + 256 + headroom_bytes / 65536;
  uint64_t itable = div_up(inodes * k_inode_size, k_block_size);
  uint64_t base = content.blocks + content.blocks / 64 + 64 + headroom_blocks + itable;
  uint64_t groups = div_up(base, 32768) + 1;
  // Bitmaps per group, descriptors (64 bytes) in the primary and the sparse backups.
  uint64_t meta = groups * 2 + div_up(groups * 64, k_block_size) * 24 + 64;
  Ext4Geometry g;
  g.blocks = std::max<uint64_t>(base + meta, 2048);
  g.inodes = inodes;
  return g;
}

}  // namespace oci
