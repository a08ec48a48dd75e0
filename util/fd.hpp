// Fd: move-only owner of a file descriptor. Every fd we open is O_CLOEXEC.
#pragma once

#include <cerrno>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace util {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : m_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return m_fd; }
  bool valid() const { return m_fd >= 0; }
  explicit operator bool() const { return valid(); }
  int release() {
    int fd = m_fd;
    m_fd = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int m_fd = -1;
};

// Retries a syscall-like callable while it fails with EINTR.
template <class F>
auto retry_eintr(F&& f) {
  decltype(f()) r;
  do {
    r = f();
  } while (r == -1 && errno == EINTR);
  return r;
}

// Error from errno: "WHAT PATH: strerror".
Error sys_error(std::string_view what, const std::filesystem::path& path = {});
Error sys_error_code(int err, std::string_view what, const std::filesystem::path& path = {});

Result<Fd> open_fd(const std::filesystem::path& path, int flags, int mode = 0644);
Result<void> write_all(int fd, std::string_view data);
// Reads up to buf.size(); returns 0 at EOF.
Result<size_t> read_some(int fd, std::span<char> buf);
Result<std::string> read_all(int fd);
Result<void> set_nonblocking(int fd, bool on = true);

}  // namespace util
