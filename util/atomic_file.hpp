// AtomicFile: write to a temp name beside the target, fsync, rename on
// commit(). The destructor never commits; it removes the temp file.
#pragma once

#include <filesystem>
#include <string_view>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace util {

class AtomicFile {
 public:
  static Result<AtomicFile> create(const std::filesystem::path& target, int mode = 0644);
  ~AtomicFile();
  AtomicFile(AtomicFile&&) noexcept = default;
  AtomicFile& operator=(AtomicFile&&) noexcept = default;

  int fd() const { return m_fd.get(); }
  const std::filesystem::path& temp_path() const { return m_temp; }
  const std::filesystem::path& target() const { return m_target; }
  Result<void> write(std::string_view data);
  // fsync the file, rename over the target, fsync the directory.
  Result<void> commit();

 private:
  AtomicFile(std::filesystem::path target, std::filesystem::path temp, Fd fd)
      : m_target(std::move(target)), m_temp(std::move(temp)), m_fd(std::move(fd)) {}
  std::filesystem::path m_target;
  std::filesystem::path m_temp;
  Fd m_fd;
};

Result<void> write_file_atomic(const std::filesystem::path& target, std::string_view data, int mode = 0644);
Result<void> fsync_dir(const std::filesystem::path& dir);

}  // namespace util
