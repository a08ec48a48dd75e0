#include "guest/agent/layer_disks.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#include "util/fd.hpp"

namespace agent {

util::Result<LowerDisk> parse_lower_disk(const std::string& spec) {
  LowerDisk d;
  auto colon = spec.find(':');
  d.serial = spec.substr(0, colon);
  if (colon != std::string::npos) d.subdir = spec.substr(colon + 1);
  if (d.serial.empty()) return util::make_error(util::ErrorCode::Guest, "lower disk '" + spec + "': empty serial");
  if (colon == std::string::npos) return d;
  size_t start = 0;
  for (;;) {
    size_t slash = d.subdir.find('/', start);
    std::string part = d.subdir.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == "..")
      return util::make_error(util::ErrorCode::Guest, "lower disk '" + spec + "': bad sub-directory");
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return d;
}

util::Result<void> set_frozen(const std::string& mount_point, protocol::Freeze op) {
  util::Fd fd = ML_TRY(util::open_fd(mount_point, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  bool freeze = op == protocol::Freeze::Freeze;
  if (::ioctl(fd.get(), freeze ? FIFREEZE : FITHAW, 0) < 0)
    return util::sys_error(freeze ? "FIFREEZE" : "FITHAW", mount_point);
  return util::ok();
}

}  // namespace agent
