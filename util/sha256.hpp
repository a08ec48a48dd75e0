// Streaming SHA-256 (OpenSSL EVP) and helpers. Digests are lowercase hex.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace util {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(std::string_view data);
  void update(const void* data, size_t size) { update(std::string_view(static_cast<const char*>(data), size)); }
  // Finishes and returns the hex digest; the hasher is reset afterwards.
  std::string hex_digest();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

std::string sha256_hex(std::string_view data);
Result<std::string> sha256_file(const std::filesystem::path& path);

}  // namespace util
