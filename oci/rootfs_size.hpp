// Sizing the ext4 image: an upper bound of the blocks and inodes the tree
// needs, plus the configured headroom.
#pragma once

#include <cstdint>

#include "oci/ext4_writer.hpp"
#include "oci/tree.hpp"

namespace oci {

struct ContentEstimate {
  uint64_t blocks = 0;  // data, directory, symlink, xattr and extent-tree blocks
  uint64_t inodes = 0;  // including the reserved ones and lost+found
};

ContentEstimate estimate_content(const Node& root);
// Geometry whose free space should cover CONTENT plus HEADROOM_BYTES; the
// builder verifies after formatting and grows it if libext2fs needed more.
Ext4Geometry plan_geometry(const ContentEstimate& content, uint64_t headroom_bytes);

}  // namespace oci
