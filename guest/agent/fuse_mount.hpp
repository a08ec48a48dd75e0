// Mounting a workspace share in the guest: /dev/fuse + mount(2) with the
// kernel's own FUSE options (no libfuse, no fusermount).
#pragma once

#include <set>

#include "guest/protocol/types.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace agent {

// The mount(2) data string for a FUSE mount on /dev/fuse fd FD.
std::string fuse_mount_options(int fd);

// Creates MOUNT.target (mkdir -p), opens /dev/fuse and mounts it there
// (nosuid, nodev; read-only for "ro"). mount(2) returns before the INIT
// handshake: the caller must serve the fd before anything touches the mount.
// A mount with a tag is a virtio-fs device instead: mounted by tag, served by
// the host directly; the returned Fd is then empty.
util::Result<util::Fd> mount_fuse(const protocol::MountSpec& mount);

}  // namespace agent
