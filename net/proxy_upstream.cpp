// Dialing upstreams and the TLS contexts on both sides of an intercepted flow.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>

#include "net/hostname.hpp"
#include "net/proxy_shared.hpp"
#include "net/resolve_upstream.hpp"
#include "util/descriptors.hpp"

namespace net {

namespace {

const unsigned char k_alpn_http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                  void*) {
  // Only http/1.1 is spoken toward the guest; a client offering h2 alone gets no ALPN.
  for (unsigned int i = 0; i < inlen;) {
    unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == 8 && std::memcmp(in + i + 1, "http/1.1", 8) == 0) {
      *out = in + i + 1;
      *outlen = 8;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

util::Result<util::Fd> connect_to(Ipv4 address, uint16_t port, std::chrono::milliseconds timeout) {
  util::Fd fd(util::socket_cloexec(AF_INET, SOCK_STREAM, util::Blocking::No));
  if (!fd) return util::sys_error("socket");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(address.value);
  std::string where = address.to_string() + ":" + std::to_string(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    if (errno != EINPROGRESS) return util::sys_error("connect", where);
    pollfd p{fd.get(), POLLOUT, 0};
    int r = util::retry_eintr([&] { return ::poll(&p, 1, static_cast<int>(timeout.count())); });
    if (r == 0) return util::make_error(util::ErrorCode::Network, "connect " + where + ": timed out");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (r < 0 || err != 0) return util::sys_error_code(r < 0 ? errno : err, "connect", where);
  }
  ML_TRY(util::set_nonblocking(fd.get(), false));
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

util::Result<void> init_tls_contexts(ProxyShared& shared) {
  shared.upstream_ctx.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX* up = shared.upstream_ctx.get();
  if (!up) return tls_error("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(up, TLS1_2_VERSION);
  SSL_CTX_set_verify(up, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_options(up, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (SSL_CTX_set_default_verify_paths(up) != 1) return tls_error("load the system trust store");
  if (!shared.options.extra_ca_file.empty() &&
      SSL_CTX_load_verify_locations(up, shared.options.extra_ca_file.c_str(), nullptr) != 1)
    return tls_error("load CA file " + shared.options.extra_ca_file.string());
  if (SSL_CTX_set_alpn_protos(up, k_alpn_http11, sizeof k_alpn_http11) != 0) return tls_error("ALPN");

  shared.guest_ctx.reset(SSL_CTX_new(TLS_server_method()));
  SSL_CTX* g = shared.guest_ctx.get();
  if (!g) return tls_error("SSL_CTX_new");
  // The guest-facing hop never leaves the host: accept whatever a guest client speaks
  // (TLS 1.0-1.3, every cipher, no signature_algorithms as busybox wget sends, SHA-1),
  // i.e. security level 0 on this side only. The upstream side stays strict.
  SSL_CTX_set_security_level(g, 0);
  SSL_CTX_set_min_proto_version(g, TLS1_VERSION);
  if (SSL_CTX_set_cipher_list(g, "ALL:@SECLEVEL=0") != 1) return tls_error("guest-side cipher list");
  SSL_CTX_set_options(g, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(g, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_alpn_select_cb(g, select_http11, nullptr);
  return util::ok();
}

util::Result<util::Fd> dial_upstream(const ProxyShared& shared, const FlowInfo& info, std::string_view name) {
  const auto& opts = shared.options;
  if (name.empty() || parse_ipv4(name)) {
    Ipv4 address = name.empty() ? info.dst_ip : *parse_ipv4(name);
    return connect_to(address, info.dst_port, opts.connect_timeout);
  }
  // A host service is connected to its declared endpoint, never resolved; any other name
  // under host.internal has no upstream at all (net/host_service.hpp).
  if (auto host = canonical_hostname(name); host && in_service_domain(*host)) {
    if (const HostService* service = opts.policy.find_service(*host, info.dst_port))
      return connect_to(service->address, service->to_port, opts.connect_timeout);
    return util::make_error(util::ErrorCode::Denied,
                            *host + ":" + std::to_string(info.dst_port) + " is not a declared host service");
  }
  for (const auto& o : opts.upstream_overrides)
    if (iequals(o.name, name) && (o.port == 0 || o.port == info.dst_port))
      return connect_to(o.address, o.to_port ? o.to_port : info.dst_port, opts.connect_timeout);
  auto addresses = ML_TRY_CTX(resolve_upstream(name, BlockPrivate::No), "resolve " + std::string(name));
  std::optional<util::Error> last;
  for (Ipv4 a : addresses) {
    Decision d = opts.policy.check_upstream_address(name, a, info.dst_port);
    if (!d.allowed()) {
      last = util::make_error(util::ErrorCode::Denied, d.reason);
      continue;
    }
    auto fd = connect_to(a, info.dst_port, opts.connect_timeout);
    if (fd) return fd;
    last = std::move(fd).error();
  }
  if (last) return std::move(*last);
  return util::make_error(util::ErrorCode::Network, "resolve " + std::string(name) + ": no IPv4 address");
}

util::Result<std::unique_ptr<TlsStream>> tls_connect(ProxyShared& shared, int fd, std::string_view name) {
  SslPtr ssl(SSL_new(shared.upstream_ctx.get()));
  if (!ssl) return tls_error("SSL_new");
  std::string n(name);
  if (SSL_set_tlsext_host_name(ssl.get(), n.c_str()) != 1) return tls_error("SNI " + n);
  if (SSL_set1_host(ssl.get(), n.c_str()) != 1) return tls_error("verify host " + n);
  BIO* bio = ML_TRY(new_prefixed_fd_bio(fd, {}));
  SSL_set_bio(ssl.get(), bio, bio);
  if (SSL_connect(ssl.get()) != 1) {
    long v = SSL_get_verify_result(ssl.get());
    if (v != X509_V_OK) {
      ERR_clear_error();
      return util::make_error(util::ErrorCode::Network,
                              "upstream " + n + " failed TLS verification: " + X509_verify_cert_error_string(v));
    }
    return tls_error("TLS handshake with upstream " + n);
  }
  return std::make_unique<TlsStream>(std::move(ssl), fd);
}

util::Result<std::unique_ptr<TlsStream>> tls_accept(ProxyShared& shared, int fd, std::string prefix,
                                                    std::string_view name) {
  auto leaf = ML_TRY(shared.options.ca->leaf_for(name));
  SslPtr ssl(SSL_new(shared.guest_ctx.get()));
  if (!ssl) return tls_error("SSL_new");
  if (SSL_use_certificate(ssl.get(), leaf->cert.get()) != 1 || SSL_use_PrivateKey(ssl.get(), leaf->key) != 1)
    return tls_error("leaf certificate for " + std::string(name));
  BIO* bio = ML_TRY(new_prefixed_fd_bio(fd, std::move(prefix)));
  SSL_set_bio(ssl.get(), bio, bio);
  if (SSL_accept(ssl.get()) != 1) return tls_error("TLS handshake with the guest for " + std::string(name));
  return std::make_unique<TlsStream>(std::move(ssl), fd);
}

}  // namespace net
