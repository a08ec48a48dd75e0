// Distribution-spec v2 client for one repository on one registry host:
// /v2/ ping, anonymous / Basic / Bearer-token auth (token cached until
// expires_in), manual redirects (Authorization never leaves the registry
// host), retries with backoff on 5xx/429/transport errors, Range resume.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "oci/auth.hpp"
#include "oci/docker_config.hpp"
#include "oci/http.hpp"
#include "oci/source.hpp"

namespace oci {

enum class AllowHttp { No, Yes };

struct RetryPolicy {
  int attempts = 5;
  std::chrono::milliseconds first_delay{200};
  std::chrono::milliseconds max_delay{5000};
};

class RegistryClient final : public Source {
 public:
  // `host` is "registry[:port]"; docker.io is contacted at registry-1.docker.io.
  // With AllowHttp::Yes plain HTTP is used when HTTPS fails to connect;
  // `first_scheme` = "http" (remembered from an earlier pull) tries it first.
  static util::Result<std::unique_ptr<RegistryClient>> connect(std::string host, std::string repository,
                                                               AllowHttp allow_http,
                                                               std::optional<Credentials> credentials,
                                                               std::string_view first_scheme = {},
                                                               RetryPolicy retry = {});

  // Asks token servers for "pull,push" from now on (call before pushing).
  void request_push_access();
  // Push (distribution spec): a blob the registry already has (HEAD) is
  // skipped; otherwise POST opens an upload and one PUT ?digest= sends it.
  util::Result<void> push_blob(std::string_view digest, std::string_view data);
  // PUT /v2/<name>/manifests/<tag>; returns the manifest's digest (checked
  // against the registry's Docker-Content-Digest).
  util::Result<std::string> push_manifest(std::string_view tag, std::string_view media_type, std::string_view bytes);

  util::Result<FetchedManifest> fetch_manifest(std::string_view reference) override;
  util::Result<void> fetch_blob(const Descriptor& blob, const Store& store, ProgressSink* progress) override;
  std::string describe() const override { return m_base + "/" + m_repository; }
  const std::string& base_url() const { return m_base; }
  // "http" or "https": what the registry answered on.
  std::string scheme() const { return m_base.substr(0, m_base.find(':')); }

 private:
  RegistryClient(std::string host, std::string repository, std::optional<Credentials> credentials, RetryPolicy retry)
      : m_host(std::move(host)),
        m_repository(std::move(repository)),
        m_credentials(std::move(credentials)),
        m_retry(retry) {}
  util::Result<void> ping(AllowHttp allow_http, std::string_view first_scheme);
  // GET with auth, redirects and retries. `stream` receives 2xx bodies.
  util::Result<HttpResponse> get(const std::string& path, std::vector<std::string> headers, const BodyStream* stream,
                                 const std::function<std::vector<std::string>()>& per_attempt_headers = {});
  // Any method with auth and retries, no redirects (uploads).
  util::Result<HttpResponse> send(HttpMethod method, const std::string& url, std::vector<std::string> headers,
                                  std::string_view body);
  util::Result<void> renew_token_if_expired();
  util::Result<HttpResponse> get_once(const std::string& url, const std::vector<std::string>& headers,
                                      const BodyStream* stream);
  util::Result<void> authenticate(const HttpResponse& unauthorized);
  std::vector<std::string> auth_headers() const;

  std::string m_host, m_repository, m_base;
  std::optional<Credentials> m_credentials;
  RetryPolicy m_retry;
  std::string m_authorization;  // "Authorization: ..." or empty
  std::chrono::steady_clock::time_point m_token_expiry{};
  std::optional<Challenge> m_bearer;
  std::string m_actions = "pull";  // token scope actions
};

}  // namespace oci
