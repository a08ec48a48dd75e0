// Tree: the flattened image filesystem, metadata only, built by applying tar
// entries layer by layer with OCI whiteouts. Paths are resolved the way
// containerd's applier does (archive/tar.go + continuity fs.RootPath):
//   * names are cleaned lexically and anchored at "/" (".." and absolute paths
//     cannot leave the root);
//   * symlinks in the parent path are followed, scoped to the root (absolute
//     targets restart at "/", ".." stops at "/"); the final component is
//     never followed, so an entry replaces a symlink rather than writing
//     through it;
//   * missing parents are created (0755 root:root);
//   * an existing entry is replaced, except a directory over a directory,
//     which merges (metadata of the newer entry, children kept);
//   * hardlink targets are resolved the same way and must exist and not be a
//     directory.
// Anything else suspicious is rejected with an Integrity error.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "oci/layer_reader.hpp"
#include "util/result.hpp"

namespace oci {

constexpr size_t k_max_name_bytes = 255;
constexpr size_t k_max_symlink_bytes = 4095;
constexpr size_t k_max_depth = 1024;
constexpr int k_max_symlink_follows = 255;

struct Inode {
  EntryType type = EntryType::Directory;  // never Hardlink
  uint32_t mode = 0755;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime = 0;
  uint32_t mtime_nsec = 0;
  uint64_t size = 0;
  std::string symlink_target;
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;  // sorted by name
  // Regular files: the tar entry supplying the content, and what it stores
  // (sparse-aware), measured while reading layers.
  uint32_t layer = 0;
  uint64_t entry = 0;
  uint64_t data_bytes = 0;   // bytes stored in the tar (holes excluded)
  uint64_t data_blocks = 0;  // non-zero 4 KiB blocks among them: what the image stores
  // Filled in by the writer.
  uint32_t nlink = 0;
  uint32_t ino = 0;
};

struct Node {
  std::shared_ptr<Inode> inode;
  std::map<std::string, std::unique_ptr<Node>, std::less<>> children;  // directories only
  uint32_t written_in_layer = UINT32_MAX;
  bool is_dir() const { return inode->type == EntryType::Directory; }
};

class Tree {
 public:
  Tree();
  // Applies one entry of layer LAYER. Returns the inode whose content the
  // entry's data supplies (a new regular file), or nullptr.
  util::Result<Inode*> apply(const TarEntry& entry, uint32_t layer, uint64_t entry_index);

  const Node& root() const { return m_root; }
  Node& root() { return m_root; }
  // Number of nodes currently in the tree (for limits); includes the root.
  uint64_t node_count() const { return m_nodes; }

 private:
  struct Resolved {
    std::vector<Node*> nodes;  // nodes[i] for names[i]; nullptr once missing
    std::vector<std::string> names;
  };
  util::Result<Resolved> resolve(std::vector<std::string> components) const;
  util::Result<Node*> make_parents(const Resolved& r, uint32_t layer);
  void remove_child(Node& dir, const std::string& name);
  void apply_opaque(Node& dir, uint32_t layer);
  uint64_t count(const Node& n) const;

  Node m_root;
  uint64_t m_nodes = 1;
};

// Splits PATH into cleaned components anchored at "/": "", "." and ".."
// handled lexically, never climbing above the root.
util::Result<std::vector<std::string>> clean_path(std::string_view path);

}  // namespace oci
