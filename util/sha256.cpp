#include "util/sha256.hpp"

#include <fcntl.h>
#include <openssl/evp.h>

#include "util/fd.hpp"

namespace util {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Impl() { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) { EVP_DigestUpdate(m_impl->ctx, data.data(), data.size()); }

std::string Sha256::hex_digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(m_impl->ctx, md, &len);
  EVP_DigestInit_ex(m_impl->ctx, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex_digest();
}

Result<std::string> sha256_file(const std::filesystem::path& path) {
  Fd fd = ML_TRY(open_fd(path, O_RDONLY));
  Sha256 h;
  std::string buf(1 << 20, '\0');
  for (;;) {
    size_t n = ML_TRY_CTX(read_some(fd.get(), buf), path.string());
    if (n == 0) break;
    h.update(std::string_view(buf.data(), n));
  }
  return h.hex_digest();
}

}  // namespace util
