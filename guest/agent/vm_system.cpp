#include "guest/agent/vm_system.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "guest/agent/entropy.hpp"
#include "guest/agent/layer_disks.hpp"
#include "guest/agent/net_config.hpp"
#include "guest/agent/fuse_mount.hpp"
#include "guest/agent/pid1.hpp"
#include "guest/protocol/version.hpp"
#include "util/dir.hpp"
#include "util/fd.hpp"

namespace agent {

namespace {

constexpr const char* k_newroot = "/newroot";

std::string read_line(const std::string& path) {
  auto fd = util::open_fd(path, O_RDONLY);
  if (!fd) return {};
  auto r = util::read_all(fd->get());
  std::string s = r ? *r : std::string();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

util::Result<void> mkdirs(const std::string& path) {
  std::string cur;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      cur = path.substr(0, i);
      if (::mkdir(cur.c_str(), 0755) < 0 && errno != EEXIST) return util::sys_error("mkdir", cur);
    }
  }
  return util::ok();
}

util::Result<void> do_mount(const std::string& src, const std::string& dst, const char* type, unsigned long flags,
                            const std::string& data) {
  ML_TRY(mkdirs(dst));
  if (::mount(src.c_str(), dst.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) < 0)
    return util::sys_error("mount " + src + " (" + (type ? type : "move") + ") on", dst);
  return util::ok();
}

// Deletes the initramfs contents (everything on the root's device), like
// busybox switch_root, so its memory is freed.
void delete_tree(int dirfd, dev_t root_dev) {
  util::Dir d = util::Dir::adopt(dirfd);
  if (!d) return;
  while (dirent* e = d.next()) {
    if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
    struct stat st;
    if (::fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    if (st.st_dev != root_dev) continue;  // a mount point (newroot, moved fs)
    if (S_ISDIR(st.st_mode)) {
      int sub = ::openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (sub >= 0) delete_tree(sub, root_dev);
      ::unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
    } else {
      ::unlinkat(dirfd, e->d_name, 0);
    }
  }
}

util::Result<void> switch_root() {
  for (const char* dir : {"/dev", "/proc", "/sys", "/run"}) {
    std::string target = std::string(k_newroot) + dir;
    ML_TRY(mkdirs(target));
    if (::mount(dir, target.c_str(), nullptr, MS_MOVE, nullptr) < 0) return util::sys_error("move mount", dir);
  }
  struct stat root_st;
  if (::stat("/", &root_st) < 0) return util::sys_error("stat", "/");
  int rootfd = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd >= 0) delete_tree(rootfd, root_st.st_dev);
  if (::chdir(k_newroot) < 0) return util::sys_error("chdir", k_newroot);
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) return util::sys_error("move mount", k_newroot);
  if (::chroot(".") < 0) return util::sys_error("chroot", k_newroot);
  if (::chdir("/") < 0) return util::sys_error("chdir", "/");
  return util::ok();
}

util::Result<void> write_file(const std::string& path, const std::string& data, int mode) {
  std::string tmp = path + ".ml-tmp";
  {
    util::Fd fd = ML_TRY(util::open_fd(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    ML_TRY(util::write_all(fd.get(), data));
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) return util::sys_error("rename", path);
  return util::ok();
}

}  // namespace

std::map<std::string, std::string> disks_by_serial() {
  std::map<std::string, std::string> out;
  util::Dir d = util::Dir::open("/sys/block");
  if (!d) return out;
  while (dirent* e = d.next()) {
    std::string name = e->d_name;
    if (name.rfind("vd", 0) != 0) continue;
    std::string serial = read_line("/sys/block/" + name + "/serial");
    if (!serial.empty()) out[serial] = "/dev/" + name;
  }
  return out;
}

util::Result<RootPlan> plan_root(const protocol::BootConfig& config, const std::map<std::string, std::string>& disks) {
  if (config.lower_disks.empty()) return util::make_error(util::ErrorCode::Guest, "boot: no image disk");
  RootPlan plan;
  std::string lowerdir;
  for (size_t i = 0; i < config.lower_disks.size(); ++i) {
    LowerDisk lower = ML_TRY(parse_lower_disk(config.lower_disks[i]));  // "SERIAL" or "SERIAL:SUBDIR" (a task layer)
    auto it = disks.find(lower.serial);
    if (it == disks.end())
      return util::make_error(util::ErrorCode::Guest, "disk with serial " + lower.serial + " not found");
    std::string mp = i == 0 ? "/run/ml/lower" : "/run/ml/lower" + std::to_string(i);
    plan.lowers.emplace_back(it->second, mp);
    lowerdir += (i ? ":" : "") + mp + (lower.subdir.empty() ? "" : "/" + lower.subdir);
  }
  auto up = disks.find(config.upper_disk);
  if (up == disks.end())
    return util::make_error(util::ErrorCode::Guest, "disk with serial " + config.upper_disk + " not found");
  plan.upper_device = up->second;
  plan.overlay_options = "lowerdir=" + lowerdir + ",upperdir=/run/ml/rw/upper,workdir=/run/ml/rw/work";
  return plan;
}

void VmSystem::set_clock(int64_t unix_ns) {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  int64_t offset = unix_ns - (int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec);  // > 0: the guest is behind
  int64_t magnitude = offset < 0 ? -offset : offset;
  if (magnitude < protocol::k_clock_slew_ns) return;
  if (magnitude <= protocol::k_clock_step_ns) {
    timeval delta{};
    delta.tv_sec = static_cast<time_t>(offset / 1'000'000'000);
    delta.tv_usec = static_cast<suseconds_t>((offset % 1'000'000'000) / 1000);
    if (::adjtime(&delta, nullptr) < 0)
      std::fprintf(stderr, "matchlock-agent: clock: adjtime: %s\n", std::strerror(errno));
    return;
  }
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(unix_ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(unix_ns % 1'000'000'000);
  if (::clock_settime(CLOCK_REALTIME, &ts) < 0)
    std::fprintf(stderr, "matchlock-agent: clock: clock_settime: %s\n", std::strerror(errno));
}

util::Result<protocol::BootInfo> VmSystem::boot(const protocol::BootConfig& config) {
  if (m_booted) return util::make_error(util::ErrorCode::Guest, "boot: already booted");
  protocol::BootInfo info;
  info.agent_version = protocol::k_agent_version;
  info.timings_ms = m_early;
  info.timings_ms.emplace_back("boot_request", boot_ms());
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(config.time_unix_ns / 1000000000);
  ts.tv_nsec = static_cast<long>(config.time_unix_ns % 1000000000);
  if (config.time_unix_ns > 0 && ::clock_settime(CLOCK_REALTIME, &ts) < 0) return util::sys_error("clock_settime");

  // virtio-blk devices show up asynchronously after the driver loads.
  std::map<std::string, std::string> disks;
  util::Result<RootPlan> plan = util::make_error(util::ErrorCode::Guest, "");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    disks = disks_by_serial();
    plan = plan_root(config, disks);
    if (plan || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!plan) return std::move(plan).error();
  info.timings_ms.emplace_back("disks", boot_ms());
  for (const auto& [dev, mp] : plan->lowers) ML_TRY(do_mount(dev, mp, "ext4", MS_RDONLY | MS_NODEV, "noload"));
  ML_TRY(do_mount(plan->upper_device, "/run/ml/rw", "ext4", MS_NODEV, ""));
  ML_TRY(mkdirs("/run/ml/rw/upper"));
  ML_TRY(mkdirs("/run/ml/rw/work"));
  ML_TRY(do_mount("overlay", k_newroot, "overlay", 0, plan->overlay_options));
  ML_TRY(switch_root());
  info.timings_ms.emplace_back("root", boot_ms());

  if (!config.hostname.empty() && ::sethostname(config.hostname.data(), config.hostname.size()) < 0)
    return util::sys_error("sethostname");
  ::mkdir("/etc", 0755);
  ::mkdir("/tmp", 01777);
  std::string hosts;
  for (const auto& line : config.hosts) hosts += line + "\n";
  if (!config.hosts.empty()) ML_TRY(write_file("/etc/hosts", hosts, 0644));
  if (!config.hostname.empty()) ML_TRY(write_file("/etc/hostname", config.hostname + "\n", 0644));
  // Network: lo always; eth0, resolv.conf and the sandbox CA when the host gave a NIC.
  ML_TRY_CTX(bring_up_loopback(), "network");
  if (config.net.enabled) ML_TRY_CTX(configure_network(config.net), "network");
  m_ca_pem = config.net.ca_pem;
  info.timings_ms.emplace_back("network", boot_ms());
  utsname u{};
  ::uname(&u);
  info.uname = std::string(u.sysname) + " " + u.nodename + " " + u.release + " " + u.version + " " + u.machine;
  info.timings_ms.emplace_back("ready", boot_ms());
  m_booted = true;
  return info;
}

util::Result<void> VmSystem::resume(const protocol::ResumeConfig& config) {
  if (!m_booted) return util::make_error(util::ErrorCode::Guest, "resume: not booted");
  // Entropy first: nothing below (nor any process after) may draw from the snapshot's CRNG state.
  ML_TRY_CTX(reseed_entropy(config.entropy), "resume");
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(config.time_unix_ns / 1000000000);
  ts.tv_nsec = static_cast<long>(config.time_unix_ns % 1000000000);
  if (config.time_unix_ns > 0 && ::clock_settime(CLOCK_REALTIME, &ts) < 0) return util::sys_error("clock_settime");
  if (!config.hostname.empty() && ::sethostname(config.hostname.data(), config.hostname.size()) < 0)
    return util::sys_error("sethostname");
  std::string hosts;
  for (const auto& line : config.hosts) hosts += line + "\n";
  if (!config.hosts.empty()) ML_TRY(write_file("/etc/hosts", hosts, 0644));
  if (!config.hostname.empty()) ML_TRY(write_file("/etc/hostname", config.hostname + "\n", 0644));
  if (!config.ca_pem.empty() || !m_ca_pem.empty()) {
    ML_TRY_CTX(replace_ca(m_ca_pem, config.ca_pem, k_trust_bundles, k_sandbox_ca_path, k_sandbox_bundle_path),
               "resume");
    m_ca_pem = config.ca_pem;
  }
  // This sandbox's console starts here: the kernel's boot messages went to the saver's.
  console("matchlock-agent: resumed from a memory snapshot as " + config.hostname);
  return util::ok();
}

util::Result<util::Fd> VmSystem::open_fuse(const protocol::MountSpec& mount) {
  if (!m_booted) return util::make_error(util::ErrorCode::Guest, "fuse: not booted");
  if (!m_fuse_mounted.insert(mount.id).second)
    return util::make_error(util::ErrorCode::Guest, "fuse: " + mount.target + " is already mounted");
  return mount_fuse(mount);
}

util::Result<void> VmSystem::freeze_writable(protocol::Freeze op) {
  if (!m_booted) return util::make_error(util::ErrorCode::Guest, "freeze: not booted");
  return set_frozen("/run/ml/rw", op);
}

void VmSystem::prepare_shutdown() {
  ::kill(-1, SIGKILL);
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  if (m_booted) (void)set_frozen("/run/ml/rw", protocol::Freeze::Thaw);  // a host that died mid-capture
  ::sync();
}

}  // namespace agent
