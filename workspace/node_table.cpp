#include "workspace/node_table.hpp"

#include <vector>

namespace workspace {

NodeTable::NodeTable() {
  Node root;
  root.lookups = 1;
  m_nodes.emplace(k_root_node, root);
}

void NodeTable::set_path(uint64_t id, Node& n, uint64_t parent, std::string name) {
  auto old = m_by_name.find({n.parent, n.name});
  if (old != m_by_name.end() && old->second == id) m_by_name.erase(old);
  n.parent = parent;
  n.name = std::move(name);
  if (parent != 0) m_by_name[{n.parent, n.name}] = id;
}

uint64_t NodeTable::remember(uint64_t parent, const std::string& name, dev_t dev, ino_t ino) {
  InodeKey key{dev, ino};
  auto it = m_by_inode.find(key);
  uint64_t id;
  if (it != m_by_inode.end()) {
    id = it->second;
  } else {
    id = m_next++;
    m_nodes.emplace(id, Node{0, {}, 0, dev, ino});
    m_by_inode.emplace(key, id);
  }
  // Whatever node had this name before (a file replaced on the host) loses it.
  auto prev = m_by_name.find({parent, name});
  if (prev != m_by_name.end() && prev->second != id) {
    Node& p = m_nodes.at(prev->second);
    m_by_name.erase(prev);
    p.parent = 0;
    p.name.clear();
  }
  Node& n = m_nodes.at(id);
  set_path(id, n, parent, name);
  ++n.lookups;
  return id;
}

void NodeTable::forget(uint64_t node, uint64_t n) {
  if (node == k_root_node) return;
  auto it = m_nodes.find(node);
  if (it == m_nodes.end()) return;
  if (it->second.lookups > n) {
    it->second.lookups -= n;
    return;
  }
  auto key = m_by_inode.find(InodeKey{it->second.dev, it->second.ino});
  if (key != m_by_inode.end() && key->second == node) m_by_inode.erase(key);
  auto name = m_by_name.find({it->second.parent, it->second.name});
  if (name != m_by_name.end() && name->second == node) m_by_name.erase(name);
  m_nodes.erase(it);
}

std::optional<std::string> NodeTable::path(uint64_t node) const {
  std::vector<const std::string*> parts;
  // A chain longer than the table would be a cycle (impossible by
  // construction, but the guest drives renames): refuse rather than loop.
  for (size_t guard = 0; node != k_root_node; ++guard) {
    auto it = m_nodes.find(node);
    if (it == m_nodes.end() || guard > m_nodes.size()) return std::nullopt;
    parts.push_back(&it->second.name);
    node = it->second.parent;
  }
  std::string out;
  for (auto p = parts.rbegin(); p != parts.rend(); ++p) {
    if (!out.empty()) out += '/';
    out += **p;
  }
  return out;
}

void NodeTable::detach(uint64_t parent, const std::string& name) {
  auto it = m_by_name.find({parent, name});
  if (it == m_by_name.end()) return;
  Node& n = m_nodes.at(it->second);
  m_by_name.erase(it);
  n.parent = 0;
  n.name.clear();
}

void NodeTable::renamed(uint64_t old_parent, const std::string& old_name, uint64_t new_parent,
                        const std::string& new_name, bool exchange) {
  auto from = m_by_name.find({old_parent, old_name});
  auto to = m_by_name.find({new_parent, new_name});
  uint64_t from_id = from == m_by_name.end() ? 0 : from->second;
  uint64_t to_id = to == m_by_name.end() ? 0 : to->second;
  if (from_id) m_by_name.erase(from);
  if (to_id) m_by_name.erase(m_by_name.find({new_parent, new_name}));
  if (to_id) {
    Node& t = m_nodes.at(to_id);
    if (exchange) {
      t.parent = old_parent;
      t.name = old_name;
      m_by_name[{old_parent, old_name}] = to_id;
    } else {
      t.parent = 0;  // replaced: detached, path() fails for it from now on
      t.name.clear();
    }
  }
  if (from_id) {
    Node& f = m_nodes.at(from_id);
    f.parent = new_parent;
    f.name = new_name;
    m_by_name[{new_parent, new_name}] = from_id;
  }
}

}  // namespace workspace
