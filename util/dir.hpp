// Dir: move-only owner of a directory stream (DIR*), closed on destruction.
// Header-only so the static guest agent can use it without more of util.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace util {

class Dir {
 public:
  Dir() = default;
  // Opens PATH; check with operator bool (errno says why).
  static Dir open(const char* path) { return Dir(::opendir(path)); }
  // Takes ownership of FD (a directory opened for reading) in every case: on
  // failure it is closed, with errno preserved.
  static Dir adopt(int fd) {
    DIR* d = ::fdopendir(fd);
    if (!d) {
      int saved = errno;
      ::close(fd);
      errno = saved;
    }
    return Dir(d);
  }
  ~Dir() { reset(); }
  Dir(Dir&& other) noexcept : m_dir(std::exchange(other.m_dir, nullptr)) {}
  Dir& operator=(Dir&& other) noexcept {
    if (this != &other) {
      reset();
      m_dir = std::exchange(other.m_dir, nullptr);
    }
    return *this;
  }
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;

  explicit operator bool() const { return m_dir != nullptr; }
  // The next entry, or nullptr at the end (errno set on an error, left alone at the end).
  dirent* next() { return ::readdir(m_dir); }
  int fd() const { return ::dirfd(m_dir); }

 private:
  explicit Dir(DIR* d) : m_dir(d) {}
  void reset() {
    if (m_dir) ::closedir(m_dir);
    m_dir = nullptr;
  }
  DIR* m_dir = nullptr;
};

}  // namespace util
