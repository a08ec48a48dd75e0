// RAII owners for OpenSSL objects and the OpenSSL error queue as a util::Error.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string_view>

#include "util/result.hpp"

namespace net {

struct SslDeleter {
  void operator()(SSL* p) const { SSL_free(p); }
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using SslPtr = std::unique_ptr<SSL, SslDeleter>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslDeleter>;
using X509Ptr = std::unique_ptr<X509, SslDeleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, SslDeleter>;

// "WHAT: <first OpenSSL error string>" and clears the queue.
util::Error tls_error(std::string_view what);

}  // namespace net
