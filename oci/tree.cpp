#include "oci/tree.hpp"

#include <deque>

namespace oci {

using util::ErrorCode;
using util::Result;

namespace {

util::Error hostile(std::string_view path, std::string_view why) {
  return util::make_error(ErrorCode::Integrity, "entry " + std::string(path) + ": " + std::string(why));
}

std::shared_ptr<Inode> inode_from(const TarEntry& e, uint32_t layer, uint64_t entry_index) {
  auto inode = std::make_shared<Inode>();
  inode->type = e.type;
  inode->mode = e.type == EntryType::Symlink ? 0777 : e.mode;
  inode->uid = e.uid;
  inode->gid = e.gid;
  inode->mtime = e.mtime;
  inode->mtime_nsec = e.mtime_nsec;
  inode->xattrs = e.xattrs;
  if (e.type == EntryType::Regular) {
    inode->size = e.size;
    inode->layer = layer;
    inode->entry = entry_index;
  } else if (e.type == EntryType::Symlink) {
    inode->symlink_target = e.link_target;
    inode->size = e.link_target.size();
  } else if (e.type == EntryType::CharDevice || e.type == EntryType::BlockDevice) {
    inode->rdev_major = e.rdev_major;
    inode->rdev_minor = e.rdev_minor;
  }
  return inode;
}

// A directory entry over an existing directory: containerd chowns, chmods,
// sets xattrs and times on the existing one, keeping its children.
void merge_dir_metadata(Inode& dir, const TarEntry& e) {
  dir.mode = e.mode;
  dir.uid = e.uid;
  dir.gid = e.gid;
  dir.mtime = e.mtime;
  dir.mtime_nsec = e.mtime_nsec;
  for (const auto& [name, value] : e.xattrs) {
    auto it = std::lower_bound(dir.xattrs.begin(), dir.xattrs.end(), name,
                               [](const auto& x, const std::string& n) { return x.first < n; });
    if (it != dir.xattrs.end() && it->first == name)
      it->second = value;
    else
      dir.xattrs.insert(it, {name, value});
  }
}

std::unique_ptr<Node> new_dir_node(uint32_t layer) {
  auto n = std::make_unique<Node>();
  n->inode = std::make_shared<Inode>();
  n->written_in_layer = layer;
  return n;
}

}  // namespace

Result<std::vector<std::string>> clean_path(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view c = path.substr(i, j - i);
    i = j + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    if (c.size() > k_max_name_bytes)
      return hostile(path, "a name is longer than " + std::to_string(k_max_name_bytes) + " bytes");
    out.emplace_back(c);
  }
  return out;
}

Tree::Tree() {
  m_root.inode = std::make_shared<Inode>();
  m_root.written_in_layer = UINT32_MAX;
}

Result<Tree::Resolved> Tree::resolve(std::vector<std::string> components) const {
  Resolved r;
  std::deque<std::string> todo(std::make_move_iterator(components.begin()), std::make_move_iterator(components.end()));
  int follows = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!r.names.empty()) {
        r.names.pop_back();
        r.nodes.pop_back();
      }
      continue;
    }
    const Node* parent = r.nodes.empty() ? &m_root : r.nodes.back();
    Node* child = nullptr;
    if (parent) {
      auto it = parent->children.find(c);
      if (it != parent->children.end()) child = it->second.get();
    }
    if (child && child->inode->type == EntryType::Symlink) {
      if (++follows > k_max_symlink_follows)
        return util::make_error(ErrorCode::Integrity, "too many levels of symbolic links");
      const std::string& target = child->inode->symlink_target;
      if (!target.empty() && target[0] == '/') {
        r.names.clear();
        r.nodes.clear();
      }
      std::vector<std::string> parts;
      size_t i = 0;
      while (i <= target.size()) {
        size_t j = target.find('/', i);
        if (j == std::string::npos) j = target.size();
        parts.emplace_back(target.substr(i, j - i));
        i = j + 1;
      }
      todo.insert(todo.begin(), parts.begin(), parts.end());
      continue;
    }
    if (child && !child->is_dir())
      return util::make_error(ErrorCode::Integrity, "a parent path component (" + c + ") is not a directory");
    if (c.size() > k_max_name_bytes)
      return util::make_error(ErrorCode::Integrity, "a symlink target has a name longer than 255 bytes");
    r.names.push_back(std::move(c));
    r.nodes.push_back(child);
    if (r.names.size() >= k_max_depth)
      return util::make_error(ErrorCode::Integrity, "path deeper than " + std::to_string(k_max_depth) + " levels");
  }
  return r;
}

Result<Node*> Tree::make_parents(const Resolved& r, uint32_t layer) {
  Node* dir = &m_root;
  for (size_t i = 0; i < r.names.size(); ++i) {
    Node* next = r.nodes[i];
    if (!next) {
      auto it = dir->children.find(r.names[i]);
      if (it == dir->children.end()) {
        it = dir->children.emplace(r.names[i], new_dir_node(layer)).first;
        ++m_nodes;
      }
      next = it->second.get();
    }
    dir = next;
  }
  return dir;
}

uint64_t Tree::count(const Node& n) const {
  uint64_t c = 1;
  for (const auto& [_, child] : n.children) c += count(*child);
  return c;
}

void Tree::remove_child(Node& dir, const std::string& name) {
  auto it = dir.children.find(name);
  if (it == dir.children.end()) return;
  m_nodes -= count(*it->second);
  dir.children.erase(it);
}

void Tree::apply_opaque(Node& dir, uint32_t layer) {
  // containerd walks the directory and removes whatever this layer did not write.
  for (auto it = dir.children.begin(); it != dir.children.end();) {
    Node& child = *it->second;
    if (child.written_in_layer == layer) {
      if (child.is_dir()) apply_opaque(child, layer);
      ++it;
    } else {
      m_nodes -= count(child);
      it = dir.children.erase(it);
    }
  }
}

Result<Inode*> Tree::apply(const TarEntry& e, uint32_t layer, uint64_t entry_index) {
  std::vector<std::string> comps = ML_TRY(clean_path(e.path));
  if (comps.empty()) {
    // "./" or "/": the image's root directory.
    if (e.type != EntryType::Directory) return hostile(e.path, "replaces the root directory with a non-directory");
    merge_dir_metadata(*m_root.inode, e);
    return nullptr;
  }
  std::string base = std::move(comps.back());
  comps.pop_back();
  Resolved parent = ML_TRY_CTX(resolve(std::move(comps)), "entry " + e.path);
  Node* dir = ML_TRY(make_parents(parent, layer));

  if (base.starts_with(".wh.")) {
    if (base == ".wh..wh..opq") {
      apply_opaque(*dir, layer);
      return nullptr;
    }
    if (base.starts_with(".wh..wh.")) return nullptr;  // other AUFS metadata: ignored like containerd
    std::string name = base.substr(4);
    if (name.empty() || name == "." || name == "..") return hostile(e.path, "whiteout of an invalid name");
    remove_child(*dir, name);
    return nullptr;
  }

  if (auto it = dir->children.find(base); it != dir->children.end()) {
    Node& existing = *it->second;
    if (existing.is_dir() && e.type == EntryType::Directory) {
      merge_dir_metadata(*existing.inode, e);
      existing.written_in_layer = layer;
      return nullptr;
    }
    remove_child(*dir, base);
  }

  auto node = std::make_unique<Node>();
  node->written_in_layer = layer;
  if (e.type == EntryType::Hardlink) {
    std::vector<std::string> tcomps = ML_TRY_CTX(clean_path(e.link_target), "entry " + e.path);
    if (tcomps.empty()) return hostile(e.path, "hardlink to the root directory");
    std::string tbase = std::move(tcomps.back());
    tcomps.pop_back();
    Resolved tparent = ML_TRY_CTX(resolve(std::move(tcomps)), "entry " + e.path + ": hardlink target");
    const Node* tdir = tparent.nodes.empty() ? &m_root : tparent.nodes.back();
    const Node* target = nullptr;
    if (tdir) {
      auto it = tdir->children.find(tbase);
      if (it != tdir->children.end()) target = it->second.get();
    }
    if (!target) return hostile(e.path, "hardlink to a missing target " + e.link_target);
    if (target->is_dir()) return hostile(e.path, "hardlink to a directory " + e.link_target);
    node->inode = target->inode;
  } else {
    node->inode = inode_from(e, layer, entry_index);
    if (e.type == EntryType::Symlink && e.link_target.size() > k_max_symlink_bytes)
      return hostile(e.path, "symlink target longer than " + std::to_string(k_max_symlink_bytes) + " bytes");
  }
  Inode* content = e.type == EntryType::Regular ? node->inode.get() : nullptr;
  dir->children.emplace(std::move(base), std::move(node));
  ++m_nodes;
  return content;
}

}  // namespace oci
