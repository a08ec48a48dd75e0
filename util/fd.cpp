#include "util/fd.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

namespace util {

void Fd::reset(int fd) {
  if (m_fd >= 0) ::close(m_fd);
  m_fd = fd;
}

Error sys_error_code(int err, std::string_view what, const std::filesystem::path& path) {
  std::string msg(what);
  if (!path.empty()) msg += " " + path.string();
  msg += ": ";
  msg += std::strerror(err);
  ErrorCode code = err == ENOENT ? ErrorCode::NotFound : ErrorCode::Io;
  return Error(code, std::move(msg), err);
}

Error sys_error(std::string_view what, const std::filesystem::path& path) { return sys_error_code(errno, what, path); }

Result<Fd> open_fd(const std::filesystem::path& path, int flags, int mode) {
  int fd = retry_eintr([&] { return ::open(path.c_str(), flags | O_CLOEXEC, mode); });
  if (fd < 0) return sys_error("open", path);
  return Fd(fd);
}

Result<void> write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = retry_eintr([&] { return ::write(fd, data.data(), data.size()); });
    if (n < 0) return sys_error("write");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return ok();
}

Result<size_t> read_some(int fd, std::span<char> buf) {
  ssize_t n = retry_eintr([&] { return ::read(fd, buf.data(), buf.size()); });
  if (n < 0) return sys_error("read");
  return static_cast<size_t>(n);
}

Result<std::string> read_all(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    size_t n = ML_TRY(read_some(fd, buf));
    if (n == 0) break;
    out.append(buf, n);
  }
  return out;
}

Result<void> set_nonblocking(int fd, bool on) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0) return sys_error("fcntl(F_GETFL)");
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (::fcntl(fd, F_SETFL, flags) < 0) return sys_error("fcntl(F_SETFL)");
  return ok();
}

}  // namespace util
