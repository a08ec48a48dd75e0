#include "backends/vz/vz_spec.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <set>

#include "backends/kernel_image.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"

namespace backends::vz {

namespace {

// The head of a kernel image: enough for sniff_kernel_image.
util::Result<std::string> read_head(const std::filesystem::path& path) {
  util::Fd fd = ML_TRY(util::open_fd(path, O_RDONLY));
  std::string head(4096, '\0');
  ssize_t n = util::retry_eintr([&] { return ::read(fd.get(), head.data(), head.size()); });
  if (n < 0) return util::sys_error("read", path);
  head.resize(static_cast<size_t>(n));
  return head;
}

bool printable_ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

}  // namespace

std::string kernel_cmdline(const VmSpec& spec) {
  std::string cmdline = k_cmdline;
  if (!spec.extra_cmdline.empty()) cmdline += " " + spec.extra_cmdline;
  return cmdline;
}

util::Result<void> check_spec(const VmSpec& spec) {
  std::vector<std::string> problems;
  if (auto head = read_head(spec.kernel); !head) {
    problems.push_back("kernel: " + head.error().message());
  } else if (sniff_kernel_image(*head) != GuestArch::Arm64) {
    problems.push_back("kernel " + spec.kernel.string() +
                       " is not an uncompressed arm64 Image (VZLinuxBootLoader cannot boot a compressed or "
                       "EFI zboot kernel, nor another architecture's)");
  }
  if (!util::path_exists(spec.initramfs))
    problems.push_back("initramfs " + spec.initramfs.string() + " does not exist");
  if (spec.cpus < 1) problems.push_back("cpus " + std::to_string(spec.cpus) + " must be at least 1");
  if (spec.memory_mib < k_min_memory_mib)
    problems.push_back("memory " + std::to_string(spec.memory_mib) + " MiB is below VZ's minimum of " +
                       std::to_string(k_min_memory_mib) + " MiB");
  if (spec.control_port == 0 || spec.control_port == 0xffffffffu)
    problems.push_back("control_port " + std::to_string(spec.control_port) +
                       " is not a vsock port the agent can listen on");
  std::set<std::string> serials;
  for (size_t i = 0; i < spec.disks.size(); ++i) {
    const Disk& d = spec.disks[i];
    std::string where = "disks[" + std::to_string(i) + "]";
    if (!util::path_exists(d.path)) problems.push_back(where + ": " + d.path.string() + " does not exist");
    if (d.serial.empty() || d.serial.size() > k_max_disk_serial || !printable_ascii(d.serial))
      problems.push_back(where + ": serial \"" + d.serial + "\" must be 1 to " + std::to_string(k_max_disk_serial) +
                         " printable ASCII characters (virtio-blk device ID)");
    else if (!serials.insert(d.serial).second)
      problems.push_back(where + ": serial \"" + d.serial + "\" is used twice");
  }
  if (spec.state_dir.empty() || !util::path_exists(spec.state_dir))
    problems.push_back("state_dir '" + spec.state_dir.string() + "' does not exist");
  if (problems.empty()) return util::ok();
  std::string message = "Virtualization.framework VM spec: ";
  for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
  return util::make_error(util::ErrorCode::Usage, message);
}

}  // namespace backends::vz
