#include "oci/flatten.hpp"

#include <algorithm>
#include <cstring>

#include "oci/ext4_writer.hpp"

namespace oci {

using util::ErrorCode;
using util::Result;

namespace {

bool is_zero(std::string_view bytes) {
  const char* p = bytes.data();
  size_t n = bytes.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    if (v != 0) return false;
  }
  for (; n > 0; ++p, --n)
    if (*p != 0) return false;
  return true;
}

}  // namespace

Result<void> flatten_layer(LayerReader& reader, uint32_t index, const RootfsOptions& options, Flattened& flat,
                           uint64_t& entries) {
  TarEntry entry;
  for (uint64_t n = 0;; ++n) {
    if (!ML_TRY(reader.next(entry))) break;
    if (++entries > options.max_entries)
      return util::make_error(ErrorCode::Integrity, "more than " + std::to_string(options.max_entries) +
                                                        " entries in the image (max_entries)");
    flat.max_mtime = std::max(flat.max_mtime, entry.mtime);
    Inode* content = ML_TRY(flat.tree.apply(entry, index, n));
    if (!content || entry.size == 0) {
      ML_TRY(reader.skip_data());
      continue;
    }
    uint64_t end = 0;
    uint64_t last_block = UINT64_MAX;  // last block counted as non-zero
    ML_TRY_CTX(reader.read_data([&](uint64_t offset, std::string_view bytes) -> Result<void> {
      if (offset < end || offset > entry.size || bytes.size() > entry.size - offset)
        return util::make_error(ErrorCode::Integrity, "data beyond the declared size or out of order");
      content->data_bytes += bytes.size();
      end = offset + bytes.size();
      // Count the blocks holding a non-zero byte: zero blocks become holes.
      while (!bytes.empty()) {
        uint64_t block = offset / k_block_size;
        size_t take = std::min<uint64_t>(bytes.size(), (block + 1) * k_block_size - offset);
        if (block != last_block && !is_zero(bytes.substr(0, take))) {
          ++content->data_blocks;
          last_block = block;
        }
        offset += take;
        bytes.remove_prefix(take);
      }
      return util::ok();
    }),
               "entry " + entry.path);
  }
  return util::ok();
}

}  // namespace oci
