// Cached task layers, guest side (docs/protocol.md "freeze"/"thaw",
// docs/tasks.md): a lower disk named "SERIAL:SUBDIR" contributes its SUBDIR
// (the `upper/` of a captured writable disk) to the overlay; the writable
// ext4 is frozen (FIFREEZE: synced, journal flushed, marked clean) while the
// host copies it into a layer file, then thawed.
#pragma once

#include <string>

#include "guest/protocol/server.hpp"
#include "util/result.hpp"

namespace agent {

struct LowerDisk {
  std::string serial;
  std::string subdir;  // empty: the disk's root
};

// "SERIAL" or "SERIAL:SUBDIR"; SUBDIR is one or more plain names joined by '/'
// (no "", ".", ".." component, no leading '/').
util::Result<LowerDisk> parse_lower_disk(const std::string& spec);

// FIFREEZE / FITHAW on the filesystem mounted at MOUNT_POINT.
util::Result<void> set_frozen(const std::string& mount_point, protocol::Freeze op);

}  // namespace agent
