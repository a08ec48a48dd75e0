// SandboxCa: the per-sandbox certificate authority used to intercept TLS to
// hosts a secret is bound to. ECDSA P-256; the private key exists only in this
// object (supervisor memory) and is never serialised. The guest trusts
// cert_pem(). Leaf certificates are minted on first use and cached per name.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "net/tls_util.hpp"
#include "util/result.hpp"

namespace net {

struct LeafCert {
  X509Ptr cert;
  EVP_PKEY* key = nullptr;  // shared leaf key, owned by the SandboxCa
};

class SandboxCa {
 public:
  static util::Result<std::unique_ptr<SandboxCa>> create(std::string_view sandbox_name);

  // The CA certificate (PEM) to install in the guest's trust store.
  const std::string& cert_pem() const { return m_cert_pem; }
  X509* cert() const { return m_cert.get(); }
  // A leaf for NAME (DNS name or IPv4 literal), valid for a day, signed by this CA.
  util::Result<std::shared_ptr<const LeafCert>> leaf_for(std::string_view name);

 private:
  SandboxCa() = default;
  PkeyPtr m_key;       // CA key
  PkeyPtr m_leaf_key;  // one key for all leaves of this sandbox
  X509Ptr m_cert;
  std::string m_cert_pem;
  std::mutex m_mutex;
  std::map<std::string, std::shared_ptr<const LeafCert>, std::less<>> m_leaves;
};

}  // namespace net
