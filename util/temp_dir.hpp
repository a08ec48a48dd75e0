// TempDir: a directory removed recursively on destruction unless released.
#pragma once

#include <filesystem>
#include <string_view>

#include "util/result.hpp"

namespace util {

class TempDir {
 public:
  // Creates PARENT/PREFIXXXXXXX (mode 0700).
  static Result<TempDir> create(const std::filesystem::path& parent, std::string_view prefix);
  TempDir() = default;
  ~TempDir();
  TempDir(TempDir&& other) noexcept : m_path(std::move(other.m_path)) { other.m_path.clear(); }
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return m_path; }
  // Keeps the directory; returns its path.
  std::filesystem::path release();

 private:
  explicit TempDir(std::filesystem::path p) : m_path(std::move(p)) {}
  std::filesystem::path m_path;
};

}  // namespace util
