#include "guest/agent/fuse_mount.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "guest/protocol/fuse_snapshot.hpp"
#include "util/fs.hpp"

namespace agent {

namespace {

constexpr int k_share_read_ahead_kb = 1024;  // = the host's max_write (workspace/file_server.cpp)

// mountinfo escapes these in paths as \ooo.
std::string mountinfo_escape(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%03o", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

// The kernel caps a FUSE mount's readahead at its 128 KiB default whatever the
// server negotiates; raise it to the 1 MiB requests the host serves, so a
// sequential read costs one round trip per MiB. Found through mountinfo (no
// request to the share, whose INIT may not be answered yet). Best effort.
void raise_read_ahead(const std::string& where) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line, dev, want = mountinfo_escape(where);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, majmin, root, point;
    if (f >> id >> parent >> majmin >> root >> point && point == want) dev = majmin;  // the last one is on top
  }
  if (dev.empty()) return;
  std::ofstream ra("/sys/class/bdi/" + dev + "/read_ahead_kb");
  ra << (k_share_read_ahead_kb) << "\n";
}

}  // namespace

std::string fuse_mount_options(int fd) {
  // default_permissions: the guest kernel checks modes against the owner the
  // host server reports (the sandbox user); allow_other: every guest user may
  // enter; max_read matches the 1 MiB max_write the host negotiates.
  return "fd=" + std::to_string(fd) +
         ",rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other,max_read=1048576";
}

util::Result<util::Fd> mount_fuse(const protocol::MountSpec& mount) {
  // A snapshot share is mounted read-only at a hidden path; the "snapshot"
  // channel then overlays it at the target (guest/protocol/fuse_snapshot.hpp).
  bool snapshot = mount.mode == "snapshot";
  std::string where = snapshot ? protocol::snapshot_share_dir(mount.id) : mount.target;
  ML_TRY(util::make_dirs(where));
  unsigned long flags = MS_NOSUID | MS_NODEV | (mount.mode != "rw" ? MS_RDONLY : 0);
  if (!mount.tag.empty()) {
    // virtio-fs: the kernel talks to the host's vhost-user backend itself.
    if (::mount(mount.tag.c_str(), where.c_str(), "virtiofs", flags, nullptr) < 0)
      return util::sys_error("mount virtiofs " + mount.tag + " on", where);
    raise_read_ahead(where);
    return util::Fd();
  }
  util::Fd dev = ML_TRY(util::open_fd("/dev/fuse", O_RDWR));
  std::string data = fuse_mount_options(dev.get());
  if (::mount("matchlock", where.c_str(), "fuse", flags, data.c_str()) < 0)
    return util::sys_error("mount fuse on", where);
  raise_read_ahead(where);
  return dev;
}

}  // namespace agent
