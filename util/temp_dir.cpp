#include "util/temp_dir.hpp"

#include <cstdlib>

#include "util/fd.hpp"

namespace util {

Result<TempDir> TempDir::create(const std::filesystem::path& parent, std::string_view prefix) {
  std::string tmpl = (parent / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) return sys_error("mkdtemp", tmpl);
  return TempDir(std::filesystem::path(tmpl));
}

TempDir::~TempDir() {
  if (!m_path.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    TempDir old(std::move(*this));
    m_path = std::move(other.m_path);
    other.m_path.clear();
  }
  return *this;
}

std::filesystem::path TempDir::release() {
  auto p = std::move(m_path);
  m_path.clear();
  return p;
}

}  // namespace util
