// build_rootfs: pass 1 reads every layer into a Tree (metadata only), pass 2
// formats the image, writes the tree, then re-reads the layers streaming the
// surviving regular files' content into their inodes.
#include "oci/rootfs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "oci/digest.hpp"
#include "oci/ext4_writer.hpp"
#include "oci/flatten.hpp"
#include "oci/layer_reader.hpp"
#include "oci/rootfs_size.hpp"
#include "oci/tree.hpp"
#include "util/atomic_file.hpp"
#include "util/sha256.hpp"

namespace oci {

using util::ErrorCode;
using util::Result;

namespace {

LayerLimits limits_of(const RootfsOptions& options) {
  return LayerLimits{options.max_layer_bytes, options.max_expansion_ratio};
}

std::string layer_label(const RootfsLayer& layer, size_t index) {
  return layer.digest.empty() ? "#" + std::to_string(index + 1) : layer.digest;
}

Result<void> read_layer(const RootfsLayer& layer, uint32_t index, const RootfsOptions& options, Flattened& flat,
                        uint64_t& entries) {
  std::string label = layer_label(layer, index);
  if (layer.media_type.ends_with("+encrypted"))
    return util::make_error(ErrorCode::Unsupported,
                            "layer " + label + ": encrypted layers (" + layer.media_type + ") are not supported");
  LayerReader reader = ML_TRY_CTX(LayerReader::open(layer.blob, label, limits_of(options)), "layer " + label);
  if (auto r = flatten_layer(reader, index, options, flat, entries); !r)
    return std::move(r).error().context("layer " + label);
  return util::ok();
}

void hex_bytes(const std::string& hex, uint8_t* out, size_t n) {
  auto nib = [](char c) { return static_cast<uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10); };
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(nib(hex[2 * i]) << 4 | nib(hex[2 * i + 1]));
}

Ext4Identity identity_for(const Digest& digest, int64_t max_mtime) {
  Ext4Identity id;
  hex_bytes(util::sha256_hex("matchlock rootfs uuid\n" + digest.to_string()), id.uuid.data(), id.uuid.size());
  id.uuid[6] = static_cast<uint8_t>((id.uuid[6] & 0x0f) | 0x40);  // RFC 4122 layout, version 4
  id.uuid[8] = static_cast<uint8_t>((id.uuid[8] & 0x3f) | 0x80);
  hex_bytes(util::sha256_hex("matchlock rootfs hash seed\n" + digest.to_string()), id.hash_seed.data(),
            id.hash_seed.size());
  id.timestamp = std::clamp<int64_t>(max_mtime, 1, 0xffffffffLL);
  return id;
}

Result<void> size_file(int fd, const std::filesystem::path& path, uint64_t blocks) {
  if (::ftruncate(fd, 0) < 0 || ::ftruncate(fd, static_cast<off_t>(blocks * k_block_size)) < 0)
    return util::sys_error("ftruncate", path);
  return util::ok();
}

// Formats the file, growing it until libext2fs leaves NEEDED free blocks.
Result<Ext4Image> format(util::AtomicFile& file, Ext4Geometry geometry, uint64_t needed, uint64_t inodes,
                         const Ext4Identity& identity) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    ML_TRY(size_file(file.fd(), file.temp_path(), geometry.blocks));
    Ext4Image image = ML_TRY(Ext4Image::create(file.temp_path(), geometry, identity));
    if (image.free_blocks() >= needed) return image;
    geometry.blocks += (needed - image.free_blocks()) + geometry.blocks / 16 + 256;
    geometry.inodes = std::max(geometry.inodes, inodes);
  }
  return util::make_error(ErrorCode::Internal, "could not size the ext4 image");
}

// Pass 2: stream each surviving regular file's content from its tar entry.
Result<void> write_contents(const std::vector<RootfsLayer>& layers, const RootfsOptions& options, const Node& root,
                            Ext4Image& image) {
  std::map<std::pair<uint32_t, uint64_t>, const Inode*> sources;
  std::vector<const Node*> stack{&root};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    for (const auto& [_, child] : n->children) {
      if (child->is_dir()) stack.push_back(child.get());
      const Inode& in = *child->inode;
      if (in.type == EntryType::Regular && in.data_blocks > 0) sources[{in.layer, in.entry}] = &in;
    }
  }
  auto next = sources.begin();
  for (uint32_t i = 0; i < layers.size() && next != sources.end(); ++i) {
    if (next->first.first != i) continue;
    std::string label = "layer " + layer_label(layers[i], i);
    LayerReader reader =
        ML_TRY_CTX(LayerReader::open(layers[i].blob, layer_label(layers[i], i), limits_of(options)), label);
    TarEntry entry;
    for (uint64_t n = 0; next != sources.end() && next->first.first == i; ++n) {
      if (!ML_TRY_CTX(reader.next(entry), label))
        return util::make_error(ErrorCode::Integrity, label + " changed while being read");
      if (next->first.second != n) {
        ML_TRY_CTX(reader.skip_data(), label);
        continue;
      }
      const Inode& inode = *next->second;
      ++next;
      Ext4FileData data = ML_TRY(image.open_file(inode));
      ML_TRY_CTX(reader.read_data([&](uint64_t offset, std::string_view bytes) { return data.write(offset, bytes); }),
                 label + ": entry " + entry.path);
      ML_TRY_CTX(data.finish(), "entry " + entry.path);
    }
  }
  return util::ok();
}

}  // namespace

Result<Rootfs> build_rootfs(const std::vector<RootfsLayer>& layers, std::string_view manifest_digest,
                            const std::filesystem::path& out_path, const RootfsOptions& options) {
  Digest digest = ML_TRY_CTX(parse_digest(manifest_digest), "rootfs");
  auto flat = std::make_unique<Flattened>();
  uint64_t entries = 0;
  for (uint32_t i = 0; i < layers.size(); ++i) ML_TRY(read_layer(layers[i], i, options, *flat, entries));

  ContentEstimate content = estimate_content(flat->tree.root());
  Ext4Geometry geometry = plan_geometry(content, options.headroom_bytes);
  uint64_t needed =
      content.blocks + content.blocks / 64 + 64 + (options.headroom_bytes + k_block_size - 1) / k_block_size;

  util::AtomicFile file = ML_TRY(util::AtomicFile::create(out_path, 0644));
  Ext4Image image = ML_TRY(format(file, geometry, needed, content.inodes, identity_for(digest, flat->max_mtime)));
  ML_TRY_CTX(image.write_tree(flat->tree.root()), "write rootfs tree");
  ML_TRY(write_contents(layers, options, flat->tree.root(), image));
  ML_TRY(image.close());

  // Shared read-only by every sandbox.
  if (::fchmod(file.fd(), 0444) < 0) return util::sys_error("chmod", file.temp_path());
  std::string sha = ML_TRY(util::sha256_file(file.temp_path()));
  struct stat st {};
  if (::fstat(file.fd(), &st) < 0) return util::sys_error("stat", file.temp_path());
  ML_TRY(file.commit());
  return Rootfs{out_path, sha, static_cast<uint64_t>(st.st_size)};
}

}  // namespace oci
