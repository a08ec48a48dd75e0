// Pass 1 of the rootfs builder (oci/rootfs.hpp): one layer's entries applied to the
// image's Tree (whiteouts, hardlinks, parents; oci/tree.hpp), each regular file's data
// read to measure what it stores (bytes and non-zero blocks), nothing written anywhere.
#pragma once

#include <cstdint>

#include "oci/layer_reader.hpp"
#include "oci/rootfs.hpp"
#include "oci/tree.hpp"
#include "util/result.hpp"

namespace oci {

struct Flattened {
  Tree tree;
  int64_t max_mtime = 0;  // the newest entry (the image's timestamp)
};

// Applies every entry of READER (layer INDEX) to FLAT. ENTRIES counts entries over all
// layers, against OPTIONS.max_entries. A file's data beyond its declared size or out of
// order is an Integrity error.
util::Result<void> flatten_layer(LayerReader& reader, uint32_t index, const RootfsOptions& options, Flattened& flat,
                                 uint64_t& entries);

}  // namespace oci
