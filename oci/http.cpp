#include "oci/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>

namespace oci {

using util::ErrorCode;
using util::make_error;

namespace {

constexpr size_t k_max_error_body = 64 * 1024;

void global_init() {
  static const bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse response;
  bool started = false;
  std::optional<util::Error> error;
};

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {  // a new response (e.g. after 100 Continue): reset
    t->response.headers.clear();
    return size * n;
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    t->response.headers[name] = trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view chunk(data, size * n);
  const BodyStream* s = t->request->stream;
  bool success = t->response.status >= 200 && t->response.status < 300;
  if (s && success) {
    if (!t->started) {
      t->started = true;
      if (s->on_start) {
        auto r = s->on_start(t->response);
        if (!r) {
          t->error = std::move(r).error();
          return 0;
        }
      }
    }
    auto r = s->on_data(chunk);
    if (!r) {
      t->error = std::move(r).error();
      return 0;
    }
    return chunk.size();
  }
  size_t room = k_max_error_body - std::min(k_max_error_body, t->response.body.size());
  if (!s || success) room = chunk.size();  // non-streamed bodies are kept whole (manifests, tokens)
  t->response.body.append(chunk.substr(0, std::min(room, chunk.size())));
  return chunk.size();
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

util::Result<HttpResponse> http_perform(const HttpRequest& request) {
  global_init();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return make_error(ErrorCode::Internal, "curl_easy_init failed");
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& h : request.headers) {
    curl_slist* l = curl_slist_append(headers.get(), h.c_str());
    if (!l) return make_error(ErrorCode::Internal, "curl_slist_append failed");
    headers.release();
    headers.reset(l);
  }
  Transfer t;
  t.request = &request;
  t.response.url = request.url;
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, request.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, request.stall_timeout_s);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "matchlock/0.1");
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (const char* ca = std::getenv("SSL_CERT_FILE"); ca && *ca) curl_easy_setopt(c, CURLOPT_CAINFO, ca);
  if (request.method == HttpMethod::Head) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  if (request.method == HttpMethod::Post || request.method == HttpMethod::Put) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    if (request.method == HttpMethod::Put) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
  }
  // The status is needed before the body callback decides where bytes go.
  curl_easy_setopt(
      c, CURLOPT_HEADERFUNCTION, +[](char* d, size_t s, size_t n, void* u) -> size_t {
        auto* tr = static_cast<Transfer*>(u);
        std::string_view line(d, s * n);
        if (line.starts_with("HTTP/")) {
          auto sp = line.find(' ');
          if (sp != std::string_view::npos)
            tr->response.status = std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
        }
        return on_header(d, s, n, u);
      });
  CURLcode rc = curl_easy_perform(c);
  if (t.error) return std::move(*t.error);
  if (rc != CURLE_OK) {
    std::string msg = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    return make_error(ErrorCode::Network, request.url + ": " + msg);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  t.response.status = status;
  // A 2xx with an empty body never called on_start.
  if (request.stream && status >= 200 && status < 300 && !t.started && request.stream->on_start) {
    auto r = request.stream->on_start(t.response);
    if (!r) return std::move(r).error();
  }
  return std::move(t.response);
}

util::Result<std::string> resolve_url(std::string_view base, std::string_view location) {
  CURLU* u = curl_url();
  if (!u) return make_error(ErrorCode::Internal, "curl_url failed");
  std::unique_ptr<CURLU, void (*)(CURLU*)> guard(u, curl_url_cleanup);
  if (curl_url_set(u, CURLUPART_URL, std::string(base).c_str(), 0) != CURLUE_OK ||
      curl_url_set(u, CURLUPART_URL, std::string(location).c_str(), 0) != CURLUE_OK)
    return make_error(ErrorCode::Network, "invalid redirect location \"" + std::string(location) + "\"");
  char* out = nullptr;
  if (curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK)
    return make_error(ErrorCode::Network, "invalid redirect URL");
  std::string s(out);
  curl_free(out);
  return s;
}

std::string url_authority(std::string_view url) {
  auto p = url.find("://");
  if (p == std::string_view::npos) return {};
  url.remove_prefix(p + 3);
  auto end = url.find_first_of("/?#");
  std::string a(url.substr(0, end));
  if (auto at = a.rfind('@'); at != std::string::npos) a = a.substr(at + 1);
  std::transform(a.begin(), a.end(), a.begin(), [](unsigned char c) { return std::tolower(c); });
  return a;
}

}  // namespace oci
