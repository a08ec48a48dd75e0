// RegistryClient's push half (OCI distribution spec, "Pushing blobs" and
// "Pushing Manifests"): monolithic blob upload (POST, then one PUT ?digest=)
// and manifest PUT. Used by `matchlock kernel push`.
#include <thread>

#include "oci/registry_client.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"

namespace oci {

using util::ErrorCode;
using util::make_error;

namespace {

bool retryable(long s) { return s == 429 || s == 408 || (s >= 500 && s <= 599); }

std::string status_text(const HttpResponse& r) {
  std::string s = "HTTP " + std::to_string(r.status);
  if (!r.body.empty()) s += ": " + r.body.substr(0, 200);
  return s;
}

}  // namespace

void RegistryClient::request_push_access() {
  if (m_actions == "pull,push") return;
  m_actions = "pull,push";
  if (m_bearer) m_authorization.clear();  // a pull-only token cannot push
}

util::Result<HttpResponse> RegistryClient::send(HttpMethod method, const std::string& url,
                                                std::vector<std::string> headers, std::string_view body) {
  bool authenticated_now = false;
  headers.push_back("Expect:");  // no 100-continue round trip
  for (int attempt = 0;;) {
    ML_TRY(renew_token_if_expired());
    std::vector<std::string> h = headers;
    if (url_authority(url) == url_authority(m_base))
      for (auto& x : auth_headers()) h.push_back(std::move(x));
    auto r = http_perform(HttpRequest{.method = method, .url = url, .headers = h, .body = body});
    bool last = attempt + 1 >= m_retry.attempts;
    if (!r) {
      if (r.error().code() != ErrorCode::Network || last) return std::move(r).error();
      std::this_thread::sleep_for(m_retry.first_delay * (1 << attempt++));
      continue;
    }
    if (r->status == 401 && !authenticated_now) {
      authenticated_now = true;
      ML_TRY_CTX(authenticate(*r), "authenticate to " + m_host);
      continue;
    }
    if (retryable(r->status) && !last) {
      std::this_thread::sleep_for(m_retry.first_delay * (1 << attempt++));
      continue;
    }
    return r;
  }
}

util::Result<void> RegistryClient::push_blob(std::string_view digest, std::string_view data) {
  std::string d(digest);
  if ("sha256:" + util::sha256_hex(data) != d)
    return make_error(ErrorCode::Internal, "push_blob: data does not hash to " + d);
  std::string blob_url = m_base + "/v2/" + m_repository + "/blobs/" + d;
  auto head = ML_TRY_CTX(send(HttpMethod::Head, blob_url, {}, {}), "blob " + d);
  if (head.status == 200) {
    util::log::debug("blob " + d + " already in " + describe());
    return util::ok();
  }
  auto start =
      ML_TRY_CTX(send(HttpMethod::Post, m_base + "/v2/" + m_repository + "/blobs/uploads/", {}, {}), "blob upload");
  if (start.status != 202 || !start.headers.count("location"))
    return make_error(ErrorCode::Network,
                      "POST " + m_repository + "/blobs/uploads/: " + status_text(start) + " (push refused?)");
  std::string url = ML_TRY(resolve_url(m_base + "/v2/", start.headers.at("location")));
  url += (url.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + "sha256%3A" + d.substr(7);
  auto put = ML_TRY_CTX(send(HttpMethod::Put, url, {"Content-Type: application/octet-stream"}, data), "blob " + d);
  if (put.status != 201) return make_error(ErrorCode::Network, "upload of blob " + d + ": " + status_text(put));
  return util::ok();
}

util::Result<std::string> RegistryClient::push_manifest(std::string_view tag, std::string_view media_type,
                                                        std::string_view bytes) {
  std::string digest = "sha256:" + util::sha256_hex(bytes);
  std::string url = m_base + "/v2/" + m_repository + "/manifests/" + std::string(tag);
  auto r = ML_TRY_CTX(send(HttpMethod::Put, url, {"Content-Type: " + std::string(media_type)}, bytes),
                      "manifest " + std::string(tag));
  if (r.status != 201)
    return make_error(ErrorCode::Network,
                      "PUT manifest " + m_repository + ":" + std::string(tag) + ": " + status_text(r));
  if (auto h = r.headers.find("docker-content-digest"); h != r.headers.end() && h->second != digest)
    return make_error(ErrorCode::Integrity, "registry stored manifest " + h->second + ", expected " + digest);
  return digest;
}

}  // namespace oci
