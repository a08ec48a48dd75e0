// Fuzz target: image layers as a registry serves them (oci/): tar, tar+gzip or tar+zstd
// through the libarchive LayerReader (bomb guards on), each entry applied to the image Tree
// with OCI whiteouts, opaque directories, hardlinks, symlinked parents (oci/flatten.hpp, pass 1
// of the rootfs builder), then the image sizing (oci/rootfs_size.hpp).
// Input: byte 0: number of layers (1..3); then every layer but the last as u16 length + bytes,
// the last takes the rest.
// Invariants: the tree holds only valid names (no "", ".", "..", '/', or whiteout names), no
// deeper than k_max_depth, hardlinks never to directories, symlink targets within bounds,
// and node_count() agrees with the tree.
#include "oci/flatten.hpp"
#include "oci/rootfs_size.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

uint64_t check_tree(const oci::Node& n, size_t depth) {
  FUZZ_CHECK(depth <= oci::k_max_depth + 1);
  FUZZ_CHECK(n.inode != nullptr && n.inode->type != oci::EntryType::Hardlink);
  if (n.inode->type == oci::EntryType::Symlink) FUZZ_CHECK(n.inode->symlink_target.size() <= oci::k_max_symlink_bytes);
  if (!n.is_dir()) FUZZ_CHECK(n.children.empty());
  if (n.inode->type == oci::EntryType::Regular) FUZZ_CHECK(n.inode->data_bytes <= n.inode->size);
  uint64_t count = 1;
  for (const auto& [name, child] : n.children) {
    FUZZ_CHECK(!name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos);
    FUZZ_CHECK(name.size() <= oci::k_max_name_bytes && !name.starts_with(".wh."));
    if (child->is_dir()) FUZZ_CHECK(child->inode.use_count() == 1);  // never hardlinked
    count += check_tree(*child, depth + 1);
  }
  return count;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  size_t layers = 1 + in.u8() % 3;
  oci::RootfsOptions options;
  options.max_layer_bytes = 8 << 20;  // a bomb stops here, not after gigabytes
  options.max_entries = 20000;
  oci::Flattened flat;
  uint64_t entries = 0;
  for (size_t i = 0; i < layers; ++i) {
    std::string_view blob = i + 1 < layers ? in.chunk(true) : in.rest();
    auto reader = oci::LayerReader::open_memory(blob, "layer", {options.max_layer_bytes, options.max_expansion_ratio});
    if (!reader) return 0;
    if (!oci::flatten_layer(*reader, static_cast<uint32_t>(i), options, flat, entries)) break;  // build_rootfs stops
  }
  FUZZ_CHECK(flat.tree.root().is_dir());
  FUZZ_CHECK(check_tree(flat.tree.root(), 0) == flat.tree.node_count());
  oci::ContentEstimate content = oci::estimate_content(flat.tree.root());
  FUZZ_CHECK(content.inodes > 0);
  (void)oci::plan_geometry(content, 0);
  return 0;
}
