// SandboxCa: the per-sandbox certificate authority used to intercept TLS to
// hosts a secret is bound to. ECDSA P-256; a sandbox's private key exists only in this
// object (supervisor memory) and is never serialised. A gateway's CA (`matchlock gateway`)
// is the exception: made once by `gateway init-ca`, kept in a 0600 file / Kubernetes Secret. The guest trusts
// cert_pem(). Leaf certificates are minted on first use and cached per name.
#pragma once

#include <chrono>
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
  std::chrono::steady_clock::time_point minted;
};

class SandboxCa {
 public:
  static util::Result<std::unique_ptr<SandboxCa>> create(std::string_view sandbox_name);
  // A CA kept on disk (`matchlock gateway`, docs/gateway.md): CERT_PEM and KEY_PEM as
  // `gateway init-ca` wrote them (a CA:TRUE certificate whose public key is KEY's).
  static util::Result<std::unique_ptr<SandboxCa>> load(std::string_view cert_pem, std::string_view key_pem);
  // A new CA for a gateway, valid for k_gateway_ca_days: load() takes back what
  // cert_pem() and key_pem() give.
  static util::Result<std::unique_ptr<SandboxCa>> create_for_gateway(std::string_view gateway_name);
  static constexpr long k_gateway_ca_days = 365;
  // The CA's private key, PKCS#8 PEM (only for writing a gateway's CA to its 0600 file).
  util::Result<std::string> key_pem() const;

  // The CA certificate (PEM) to install in the guest's trust store.
  const std::string& cert_pem() const { return m_cert_pem; }
  X509* cert() const { return m_cert.get(); }
  // A leaf for NAME (DNS name or IPv4 literal), signed by this CA: valid for a week, minted
  // anew once a day (a gateway runs for months).
  util::Result<std::shared_ptr<const LeafCert>> leaf_for(std::string_view name);

 private:
  SandboxCa() = default;
  static util::Result<std::unique_ptr<SandboxCa>> make_ca(const std::string& cn, long lifetime_seconds);
  PkeyPtr m_key;       // CA key
  PkeyPtr m_leaf_key;  // one key for all leaves of this sandbox
  X509Ptr m_cert;
  std::string m_cert_pem;
  std::mutex m_mutex;
  std::map<std::string, std::shared_ptr<const LeafCert>, std::less<>> m_leaves;
};

}  // namespace net
