// Node ids handed to the guest kernel: each names a host inode by the path it
// was last seen at ((parent node, name), never a host path string with
// symlinks). Node 1 is the share root. Ids are never reused; a node lives
// until the kernel forgets every lookup of it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

namespace workspace {

inline constexpr uint64_t k_root_node = 1;

class NodeTable {
 public:
  NodeTable();

  // The node for inode (DEV, INO) now found at (PARENT, NAME): an existing
  // node moves there, else a new one is made. Adds one lookup reference.
  uint64_t remember(uint64_t parent, const std::string& name, dev_t dev, ino_t ino);
  // Drops N lookup references; the node goes away at zero (never the root).
  void forget(uint64_t node, uint64_t n);
  // "a/b/c" relative to the root ("" for the root), or nullopt for an unknown
  // node or one whose ancestor chain is gone.
  std::optional<std::string> path(uint64_t node) const;
  bool known(uint64_t node) const { return m_nodes.count(node) != 0; }
  // After a rename: whatever node sits at (OLD_PARENT, OLD_NAME) now lives at
  // (NEW_PARENT, NEW_NAME). With EXCHANGE the two swap.
  void renamed(uint64_t old_parent, const std::string& old_name, uint64_t new_parent, const std::string& new_name,
               bool exchange);
  // After an unlink/rmdir of (PARENT, NAME): that node no longer has a path.
  void detach(uint64_t parent, const std::string& name);
  size_t size() const { return m_nodes.size(); }

 private:
  struct Node {
    uint64_t parent = 0;
    std::string name;
    uint64_t lookups = 0;
    dev_t dev = 0;
    ino_t ino = 0;
  };
  struct InodeKey {
    dev_t dev;
    ino_t ino;
    bool operator<(const InodeKey& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
  };
  std::unordered_map<uint64_t, Node> m_nodes;
  std::map<InodeKey, uint64_t> m_by_inode;
  std::map<std::pair<uint64_t, std::string>, uint64_t> m_by_name;  // (parent, name) -> node
  void set_path(uint64_t id, Node& n, uint64_t parent, std::string name);
  uint64_t m_next = k_root_node + 1;
};

}  // namespace workspace
