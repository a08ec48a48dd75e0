#include "oci/registry_client.hpp"

#include <nlohmann/json.hpp>
#include <thread>

#include "util/log.hpp"
#include "util/sha256.hpp"

namespace oci {

using util::ErrorCode;
using util::make_error;

namespace {

constexpr int k_max_redirects = 10;
constexpr size_t k_max_manifest = 4 * 1024 * 1024;

bool retryable_status(long s) { return s == 429 || s == 408 || (s >= 500 && s <= 599); }

// "HTTP 404 (MANIFEST_UNKNOWN: manifest unknown)"
std::string describe_status(const HttpResponse& r) {
  std::string s = "HTTP " + std::to_string(r.status);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    auto e = j.find("errors");
    if (e != j.end() && e->is_array() && !e->empty() && (*e)[0].is_object()) {
      const auto& first = (*e)[0];
      std::string code = first.value("code", ""), msg = first.value("message", "");
      if (!code.empty() || !msg.empty()) s += " (" + code + (code.empty() || msg.empty() ? "" : ": ") + msg + ")";
    }
  }
  return s;
}

ErrorCode code_for_status(long s) {
  if (s == 404) return ErrorCode::NotFound;
  return ErrorCode::Network;
}

std::chrono::milliseconds backoff(const RetryPolicy& p, int attempt, const HttpResponse* r) {
  auto d = p.first_delay * (1 << std::min(attempt, 10));
  if (r) {
    auto it = r->headers.find("retry-after");
    if (it != r->headers.end()) {
      char* end = nullptr;
      long secs = std::strtol(it->second.c_str(), &end, 10);
      if (end && *end == '\0' && secs >= 0) d = std::chrono::milliseconds(secs * 1000);
    }
  }
  return std::min<std::chrono::milliseconds>(d, p.max_delay);
}

}  // namespace

util::Result<std::string> verify_manifest_digest(std::string_view bytes, std::string_view requested) {
  std::string got = "sha256:" + util::sha256_hex(bytes);
  if (requested.starts_with("sha256:") && got != requested)
    return make_error(ErrorCode::Integrity,
                      "manifest " + std::string(requested) + ": digest mismatch: content hashes to " + got);
  if (requested.starts_with("sha512:"))
    return make_error(ErrorCode::Unsupported,
                      "manifest " + std::string(requested) + ": only sha256 content is supported");
  return got;
}

util::Result<std::unique_ptr<RegistryClient>> RegistryClient::connect(std::string host, std::string repository,
                                                                      AllowHttp allow_http,
                                                                      std::optional<Credentials> credentials,
                                                                      std::string_view first_scheme,
                                                                      RetryPolicy retry) {
  std::unique_ptr<RegistryClient> c(
      new RegistryClient(std::move(host), std::move(repository), std::move(credentials), retry));
  ML_TRY_CTX(c->ping(allow_http, first_scheme), "registry " + c->m_host);
  return c;
}

util::Result<void> RegistryClient::ping(AllowHttp allow_http, std::string_view first_scheme) {
  std::string endpoint = m_host == "docker.io" ? "registry-1.docker.io" : m_host;
  std::vector<std::string> schemes = {"https"};
  if (allow_http == AllowHttp::Yes) schemes.insert(first_scheme == "http" ? schemes.begin() : schemes.end(), "http");
  std::optional<util::Error> last;
  for (const auto& scheme : schemes) {
    m_base = scheme + "://" + endpoint;
    for (int attempt = 0; attempt < m_retry.attempts; ++attempt) {
      auto r = http_perform(HttpRequest{.url = m_base + "/v2/", .connect_timeout_s = 10});
      if (!r) {
        last = std::move(r).error();
        break;  // transport error: try the next scheme (HTTPS against an HTTP port fails fast)
      }
      if (r->status == 200 || r->status == 401) return util::ok();
      if (retryable_status(r->status) && attempt + 1 < m_retry.attempts) {
        std::this_thread::sleep_for(backoff(m_retry, attempt, &*r));
        continue;
      }
      last = make_error(ErrorCode::Network, "GET " + m_base + "/v2/: " + describe_status(*r) + " (not a registry?)");
      // A remembered "http" that now meets a TLS port gets HTTP 400: try HTTPS.
      if (scheme == "http" && scheme != schemes.back()) break;
      return std::move(*last);
    }
  }
  return std::move(*last);
}

std::vector<std::string> RegistryClient::auth_headers() const {
  if (m_authorization.empty()) return {};
  return {m_authorization};
}

util::Result<void> RegistryClient::authenticate(const HttpResponse& unauthorized) {
  auto it = unauthorized.headers.find("www-authenticate");
  if (it == unauthorized.headers.end())
    return make_error(ErrorCode::Network, "HTTP 401 without a WWW-Authenticate challenge");
  auto challenges = ML_TRY(parse_www_authenticate(it->second));
  for (const auto& ch : challenges) {
    if (ch.scheme == "bearer") {
      if (!ch.params.count("realm")) return make_error(ErrorCode::Network, "Bearer challenge without realm");
      m_bearer = ch;
      std::vector<std::string> headers;
      if (m_credentials)
        headers.push_back("Authorization: Basic " +
                          base64_encode(m_credentials->username + ":" + m_credentials->password));
      std::string url = token_url(ch, m_repository, m_actions);
      HttpResponse r;
      for (int attempt = 0;; ++attempt) {
        auto rr = http_perform(HttpRequest{.url = url, .headers = headers});
        if (rr && !retryable_status(rr->status)) {
          r = std::move(*rr);
          break;
        }
        if (attempt + 1 >= m_retry.attempts) {
          if (!rr) return std::move(rr).error().context("token server");
          return make_error(ErrorCode::Network, "token server " + url + ": " + describe_status(*rr));
        }
        std::this_thread::sleep_for(backoff(m_retry, attempt, rr ? &*rr : nullptr));
      }
      if (r.status == 401 || r.status == 403)
        return make_error(
            ErrorCode::Network,
            "token server refused " + std::string(m_credentials ? "the credentials" : "anonymous access") + " (" +
                describe_status(r) + ")" +
                (m_credentials ? "" : "; log in with docker login or add credentials to ~/.docker/config.json"));
      if (r.status != 200) return make_error(ErrorCode::Network, "token server " + url + ": " + describe_status(r));
      Token t = ML_TRY_CTX(parse_token_response(r.body), "token server");
      m_authorization = "Authorization: Bearer " + t.token;
      // Renew a little early: a quarter of the lifetime, at most 10 s.
      int64_t life_ms = std::max<int64_t>(t.expires_in, 1) * 1000;
      m_token_expiry =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(life_ms - std::min<int64_t>(10000, life_ms / 4));
      return util::ok();
    }
  }
  for (const auto& ch : challenges) {
    if (ch.scheme == "basic") {
      if (!m_credentials)
        return make_error(ErrorCode::Network,
                          "registry requires a username and password (Basic auth); log in with docker login or "
                          "add credentials to ~/.docker/config.json");
      m_authorization =
          "Authorization: Basic " + base64_encode(m_credentials->username + ":" + m_credentials->password);
      m_token_expiry = {};
      return util::ok();
    }
  }
  return make_error(ErrorCode::Unsupported, "unsupported authentication scheme in \"" + it->second + "\"");
}

// A Bearer token is renewed before it expires (expires_in), not after the
// registry refuses it.
util::Result<void> RegistryClient::renew_token_if_expired() {
  if (!m_bearer || m_token_expiry == std::chrono::steady_clock::time_point{} ||
      std::chrono::steady_clock::now() < m_token_expiry)
    return util::ok();
  HttpResponse fake;
  fake.headers["www-authenticate"] =
      "Bearer realm=\"" + m_bearer->params.at("realm") + "\"" +
      (m_bearer->params.count("service") ? ",service=\"" + m_bearer->params.at("service") + "\"" : "");
  util::log::debug("renewing the registry token of " + m_host + " (expires_in reached)");
  return authenticate(fake);
}

util::Result<HttpResponse> RegistryClient::get_once(const std::string& start_url,
                                                    const std::vector<std::string>& headers, const BodyStream* stream) {
  std::string url = start_url;
  std::string registry_authority = url_authority(m_base);
  bool left_registry = false;
  for (int hop = 0; hop <= k_max_redirects; ++hop) {
    std::vector<std::string> h;
    for (const auto& x : headers)
      if (!(left_registry && x.starts_with("Authorization:"))) h.push_back(x);
    auto r = ML_TRY(http_perform(HttpRequest{.url = url, .headers = h, .stream = stream}));
    if (r.status >= 300 && r.status < 400 && r.status != 304) {
      auto loc = r.headers.find("location");
      if (loc == r.headers.end())
        return make_error(ErrorCode::Network, url + ": HTTP " + std::to_string(r.status) + " without Location");
      url = ML_TRY(resolve_url(url, loc->second));
      // Never forward our credentials to another host (e.g. a CDN).
      if (url_authority(url) != registry_authority) left_registry = true;
      continue;
    }
    return r;
  }
  return make_error(ErrorCode::Network, start_url + ": too many redirects");
}

util::Result<HttpResponse> RegistryClient::get(const std::string& path, std::vector<std::string> headers,
                                               const BodyStream* stream,
                                               const std::function<std::vector<std::string>()>& per_attempt_headers) {
  std::string url = m_base + path;
  bool authenticated_now = false;
  for (int attempt = 0;;) {
    ML_TRY(renew_token_if_expired());
    std::vector<std::string> h = headers;
    if (per_attempt_headers)
      for (auto& x : per_attempt_headers()) h.push_back(std::move(x));
    for (auto& x : auth_headers()) h.push_back(std::move(x));
    auto r = get_once(url, h, stream);
    bool last = attempt + 1 >= m_retry.attempts;
    if (!r) {
      if (r.error().code() != ErrorCode::Network || last) return std::move(r).error();
      util::log::debug("retrying after: " + r.error().message());
      std::this_thread::sleep_for(backoff(m_retry, attempt++, nullptr));
      continue;
    }
    if (r->status == 401 && !authenticated_now) {
      authenticated_now = true;
      ML_TRY_CTX(authenticate(*r), "authenticate to " + m_host);
      continue;
    }
    if (r->status == 401)
      return make_error(ErrorCode::Network, "GET " + url + ": " + describe_status(*r) + ": credentials were rejected");
    if (retryable_status(r->status) && !last) {
      util::log::debug("retrying " + url + " after " + describe_status(*r));
      std::this_thread::sleep_for(backoff(m_retry, attempt++, &*r));
      continue;
    }
    return r;
  }
}

util::Result<FetchedManifest> RegistryClient::fetch_manifest(std::string_view reference) {
  std::string path = "/v2/" + m_repository + "/manifests/" + std::string(reference);
  auto r = ML_TRY_CTX(get(path, {"Accept: " + std::string(media_type::k_accept)}, nullptr),
                      "manifest " + std::string(reference));
  if (r.status != 200)
    return make_error(code_for_status(r.status),
                      "manifest " + m_repository + ":" + std::string(reference) + ": " + describe_status(r));
  if (r.body.size() > k_max_manifest)
    return make_error(ErrorCode::Integrity, "manifest " + std::string(reference) + " is larger than 4 MiB");
  FetchedManifest m;
  m.digest = ML_TRY(verify_manifest_digest(r.body, reference));
  if (auto h = r.headers.find("docker-content-digest");
      h != r.headers.end() && h->second.starts_with("sha256:") && h->second != m.digest)
    return make_error(ErrorCode::Integrity, "manifest " + std::string(reference) + ": Docker-Content-Digest " +
                                                h->second + " does not match the content (" + m.digest + ")");
  m.content_type = r.headers.count("content-type") ? r.headers.at("content-type") : std::string();
  m.bytes = std::move(r.body);
  return m;
}

util::Result<void> RegistryClient::fetch_blob(const Descriptor& blob, const Store& store, ProgressSink* progress) {
  Digest d = ML_TRY(parse_sha256_digest(blob.digest));
  if (store.has_blob(d, blob.size)) {
    if (progress) progress->layer_done(blob.digest, blob.size, BlobOutcome::Cached);
    return util::ok();
  }
  std::string path = "/v2/" + m_repository + "/blobs/" + blob.digest;
  for (int round = 0; round < 2; ++round) {
    BlobWriter w = ML_TRY(store.begin_blob(d, blob.size));
    uint64_t resumed_from = w.offset();
    if (progress) progress->layer_start(blob.digest, blob.size, resumed_from);
    BodyStream stream;
    stream.on_start = [&](const HttpResponse& head) -> util::Result<void> {
      if (head.status == 200) {
        auto cl = head.headers.find("content-length");
        if (cl != head.headers.end() && cl->second != std::to_string(blob.size))
          return make_error(ErrorCode::Integrity, "blob " + blob.digest + ": the registry serves " + cl->second +
                                                      " bytes but the manifest declares " + std::to_string(blob.size));
        if (w.offset() > 0) return w.restart();  // Range ignored: start over
      }
      if (head.status == 206) {
        auto cr = head.headers.find("content-range");
        std::string want = "bytes " + std::to_string(w.offset()) + "-";
        if (cr == head.headers.end() || !cr->second.starts_with(want) ||
            !cr->second.ends_with("/" + std::to_string(blob.size)))
          return make_error(ErrorCode::Integrity, "blob " + blob.digest + ": unexpected Content-Range \"" +
                                                      (cr == head.headers.end() ? std::string() : cr->second) + "\"");
      }
      return util::ok();
    };
    stream.on_data = [&](std::string_view chunk) -> util::Result<void> {
      ML_TRY(w.write(chunk));
      if (progress) progress->layer_progress(blob.digest, w.offset(), blob.size);
      return util::ok();
    };
    auto range = [&]() -> std::vector<std::string> {
      if (w.offset() > 0 && w.offset() < blob.size) return {"Range: bytes=" + std::to_string(w.offset()) + "-"};
      return {};
    };
    // Keep asking until the body is complete: a clean but short response
    // (truncated blob) is resumed like a dropped connection.
    for (int short_reads = 0; w.offset() < blob.size || blob.size == 0; ++short_reads) {
      uint64_t before = w.offset();
      auto r = get(path, {}, &stream, range);
      if (!r) {
        // Transport failures keep the .partial for the next pull to resume;
        // anything else means these bytes can never become the blob.
        if (r.error().code() != ErrorCode::Network) w.discard();
        return std::move(r).error().context("blob " + blob.digest);
      }
      if (r->status == 416) {
        ML_TRY(w.restart());
      } else if (r->status != 200 && r->status != 206) {
        w.discard();
        return make_error(code_for_status(r->status), "blob " + blob.digest + ": " + describe_status(*r));
      }
      if (blob.size == 0) break;
      if (w.offset() < blob.size && (w.offset() <= before || short_reads >= m_retry.attempts)) {
        w.discard();  // the server keeps sending short bodies: nothing to resume
        return make_error(ErrorCode::Integrity, "blob " + blob.digest + ": truncated: got " +
                                                    std::to_string(w.offset()) + " of " + std::to_string(blob.size) +
                                                    " bytes");
      }
    }
    auto committed = w.commit();
    if (committed) {
      if (progress) progress->layer_done(blob.digest, blob.size, BlobOutcome::Downloaded);
      return util::ok();
    }
    // A corrupt leftover .partial: it was removed; try once from scratch.
    if (resumed_from == 0 || round == 1) return std::move(committed).error();
    util::log::debug("discarding resumed download: " + committed.error().message());
  }
  return make_error(ErrorCode::Internal, "unreachable");
}

}  // namespace oci
