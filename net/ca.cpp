#include "net/ca.hpp"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <openssl/crypto.h>

#include "net/ipv4.hpp"
#include "net/rule.hpp"

namespace net {

namespace {

constexpr long k_backdate = 3600;            // clock skew between host and guest
constexpr long k_ca_lifetime = 30L * 86400;  // a sandbox rarely lives longer
constexpr long k_leaf_lifetime = 7L * 86400;
constexpr std::chrono::hours k_leaf_refresh{24};

util::Result<PkeyPtr> make_p256_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return tls_error("generate P-256 key");
  return key;
}

util::Result<void> set_serial(X509* cert) {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) return tls_error("serial");
  raw[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(raw, sizeof raw, nullptr);
  bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
  if (!ok) return tls_error("serial");
  return util::ok();
}

util::Result<void> add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return tls_error("certificate extension " + value);
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  if (!ok) return tls_error("add extension");
  return util::ok();
}

util::Result<X509Ptr> new_cert(EVP_PKEY* subject_key, const std::string& cn, long lifetime) {
  X509Ptr cert(X509_new());
  if (!cert) return tls_error("X509_new");
  X509_set_version(cert.get(), 2);
  ML_TRY(set_serial(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -k_backdate);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), lifetime);
  X509_set_pubkey(cert.get(), subject_key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("matchlock"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

util::Result<std::string> pem_of(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_X509(bio, cert) != 1) {
    BIO_free(bio);
    return tls_error("encode CA certificate");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

}  // namespace

util::Result<std::unique_ptr<SandboxCa>> SandboxCa::create(std::string_view sandbox_name) {
  return make_ca("matchlock sandbox CA " + std::string(sandbox_name.substr(0, 40)), k_ca_lifetime);
}

util::Result<std::unique_ptr<SandboxCa>> SandboxCa::create_for_gateway(std::string_view gateway_name) {
  return make_ca("matchlock gateway CA " + std::string(gateway_name.substr(0, 40)), k_gateway_ca_days * 86400);
}

util::Result<std::unique_ptr<SandboxCa>> SandboxCa::load(std::string_view cert_pem, std::string_view key_pem) {
  std::unique_ptr<SandboxCa> ca(new SandboxCa());
  BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  ca->m_cert.reset(cb ? PEM_read_bio_X509(cb, nullptr, nullptr, nullptr) : nullptr);
  BIO_free(cb);
  if (!ca->m_cert) return tls_error("the CA certificate is not a PEM certificate");
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  ca->m_key.reset(kb ? PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr) : nullptr);
  BIO_free(kb);
  if (!ca->m_key) return tls_error("the CA key is not a PEM private key");
  if (X509_check_ca(ca->m_cert.get()) != 1)
    return util::make_error(util::ErrorCode::Config, "the CA certificate is not a CA (basicConstraints CA:TRUE)");
  if (X509_check_private_key(ca->m_cert.get(), ca->m_key.get()) != 1)
    return tls_error("the CA key does not belong to the CA certificate");
  if (X509_cmp_current_time(X509_get0_notAfter(ca->m_cert.get())) <= 0)
    return util::make_error(util::ErrorCode::Config, "the CA certificate has expired");
  ca->m_leaf_key = ML_TRY(make_p256_key());
  ca->m_cert_pem = ML_TRY(pem_of(ca->m_cert.get()));
  return ca;
}

util::Result<std::string> SandboxCa::key_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_PrivateKey(bio, m_key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(bio);
    return tls_error("encode CA key");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  OPENSSL_cleanse(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

util::Result<std::unique_ptr<SandboxCa>> SandboxCa::make_ca(const std::string& cn, long lifetime) {
  std::unique_ptr<SandboxCa> ca(new SandboxCa());
  ca->m_key = ML_TRY(make_p256_key());
  ca->m_leaf_key = ML_TRY(make_p256_key());
  ca->m_cert = ML_TRY(new_cert(ca->m_key.get(), cn, lifetime));
  X509* c = ca->m_cert.get();
  X509_set_issuer_name(c, X509_get_subject_name(c));
  ML_TRY(add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  ML_TRY(add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign"));
  ML_TRY(add_ext(c, c, NID_subject_key_identifier, "hash"));
  if (X509_sign(c, ca->m_key.get(), EVP_sha256()) == 0) return tls_error("sign CA certificate");
  ca->m_cert_pem = ML_TRY(pem_of(c));
  return ca;
}

util::Result<std::shared_ptr<const LeafCert>> SandboxCa::leaf_for(std::string_view name) {
  std::lock_guard lock(m_mutex);
  auto now = std::chrono::steady_clock::now();
  if (auto it = m_leaves.find(name); it != m_leaves.end()) {
    if (now - it->second->minted < k_leaf_refresh) return it->second;
    m_leaves.erase(it);
  }
  std::string n(name);
  if (!parse_ipv4(n) && !is_valid_hostname(n))
    return util::make_error(util::ErrorCode::Network, "no certificate for invalid name \"" + n + "\"");
  X509Ptr cert = ML_TRY(new_cert(m_leaf_key.get(), n, k_leaf_lifetime));
  X509* c = cert.get();
  X509_set_issuer_name(c, X509_get_subject_name(m_cert.get()));
  ML_TRY(add_ext(c, m_cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  ML_TRY(add_ext(c, m_cert.get(), NID_key_usage, "critical,digitalSignature"));
  ML_TRY(add_ext(c, m_cert.get(), NID_ext_key_usage, "serverAuth"));
  ML_TRY(add_ext(c, m_cert.get(), NID_authority_key_identifier, "keyid:always"));
  ML_TRY(add_ext(c, m_cert.get(), NID_subject_alt_name, (parse_ipv4(n) ? "IP:" : "DNS:") + n));
  if (X509_sign(c, m_key.get(), EVP_sha256()) == 0) return tls_error("sign leaf certificate for " + n);
  auto leaf = std::make_shared<LeafCert>();
  leaf->cert = std::move(cert);
  leaf->key = m_leaf_key.get();
  leaf->minted = now;
  m_leaves.emplace(n, leaf);
  return std::shared_ptr<const LeafCert>(leaf);
}

}  // namespace net
