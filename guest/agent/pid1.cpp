#include "guest/agent/pid1.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "util/dir.hpp"

namespace agent {

namespace {

util::Result<void> mount_fs(const char* source, const char* target, const char* type, unsigned long flags,
                            const char* data) {
  ::mkdir(target, 0755);
  if (::mount(source, target, type, flags, data) < 0 && errno != EBUSY)
    return util::sys_error(std::string("mount ") + type + " on", target);
  return util::ok();
}

std::string read_text(const std::string& path) {
  auto fd = util::open_fd(path, O_RDONLY);
  if (!fd) return {};
  auto s = util::read_all(fd->get());
  return s ? *s : std::string();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

int64_t boot_ms() {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

void console(std::string_view line) {
  int fd = ::open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
  std::string s(line);
  s += "\n";
  if (fd >= 0) {
    (void)util::write_all(fd, s);
    ::close(fd);
  } else {
    (void)util::write_all(2, s);
  }
}

util::Result<void> early_mounts() {
  ML_TRY(mount_fs("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"));
  // fds 0-2: the console, so nothing we open later lands on them.
  for (int i = 0; i < 3; ++i) {
    if (::fcntl(i, F_GETFD) >= 0) continue;
    int fd = ::open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0) fd = ::open("/dev/null", O_RDWR);
    if (fd >= 0 && fd != i) {
      ::dup2(fd, i);
      ::close(fd);
    }
  }
  ML_TRY(mount_fs("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr));
  ML_TRY(mount_fs("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr));
  ML_TRY(mount_fs("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666"));
  ML_TRY(mount_fs("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"));
  ML_TRY(mount_fs("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"));
  ::symlink("/proc/self/fd", "/dev/fd");
  ::symlink("/proc/self/fd/0", "/dev/stdin");
  ::symlink("/proc/self/fd/1", "/dev/stdout");
  ::symlink("/proc/self/fd/2", "/dev/stderr");
  return util::ok();
}

util::Result<int> load_modules(const std::string& dir) {
  std::string order = read_text(dir + "/order");
  int loaded = 0;
  size_t pos = 0;
  while (pos < order.size()) {
    size_t nl = order.find('\n', pos);
    std::string name = trim(order.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    pos = nl == std::string::npos ? order.size() : nl + 1;
    if (name.empty() || name[0] == '#') continue;
    std::string path = dir + "/" + name;
    util::Fd fd = ML_TRY(util::open_fd(path, O_RDONLY));
    bool compressed = name.ends_with(".xz") || name.ends_with(".zst") || name.ends_with(".gz");
    long r = ::syscall(SYS_finit_module, fd.get(), "", compressed ? 4 /* MODULE_INIT_COMPRESSED_FILE */ : 0);
    if (r < 0 && errno != EEXIST) return util::sys_error("finit_module", path);
    ++loaded;
  }
  return loaded;
}

std::string kernel_cmdline() { return trim(read_text("/proc/cmdline")); }

bool cmdline_has(std::string_view word) {
  std::string cmdline = " " + kernel_cmdline() + " ";
  return cmdline.find(" " + std::string(word) + " ") != std::string::npos;
}

util::Result<util::Fd> open_virtio_port(std::string_view name, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (util::Dir d = util::Dir::open("/sys/class/virtio-ports")) {
      std::string found;
      while (dirent* e = d.next()) {
        if (e->d_name[0] == '.') continue;
        std::string port = e->d_name;
        if (trim(read_text("/sys/class/virtio-ports/" + port + "/name")) == name) found = port;
      }
      if (!found.empty()) {
        int fd = ::open(("/dev/" + found).c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0) return util::Fd(fd);
        if (errno != ENOENT) return util::sys_error("open", "/dev/" + found);
      }
    }
    if (std::chrono::steady_clock::now() > deadline)
      return util::make_error(util::ErrorCode::Guest,
                              "virtio-serial port " + std::string(name) + " not found (is virtio_console loaded?)");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

util::Result<void> wait_host_connected(int fd, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    pollfd p{fd, POLLOUT, 0};
    int r = ::poll(&p, 1, 0);
    if (r > 0 && !(p.revents & POLLHUP)) return util::ok();
    if (std::chrono::steady_clock::now() > deadline)
      return util::make_error(util::ErrorCode::Guest, "the host never connected to the control port");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void power_off() {
  ::kill(-1, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  while (std::chrono::steady_clock::now() < deadline) {
    int st;
    pid_t p = ::waitpid(-1, &st, WNOHANG);
    if (p < 0 && errno == ECHILD) break;
    if (p <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(-1, SIGKILL);
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  ::sync();
  // The root overlay cannot be unmounted; remounting its pieces read-only
  // flushes the ext4 journal. Failures here change nothing: sync already ran.
  ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY, nullptr);
  ::mount(nullptr, "/run/ml/rw", nullptr, MS_REMOUNT | MS_RDONLY, nullptr);
  ::sync();
  ::reboot(RB_POWER_OFF);
  for (;;) ::pause();
}

}  // namespace agent
