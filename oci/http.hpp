// A small libcurl wrapper: one request, no automatic redirects (the caller
// decides whether Authorization may follow), optional streaming of 2xx bodies.
// HTTPS_PROXY/https_proxy/NO_PROXY/no_proxy are honoured by libcurl itself;
// SSL_CERT_FILE (a PEM bundle) replaces the system CA store, as in Go/OpenSSL tools.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace oci {

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; last value wins
  std::string body;                            // non-streamed or error body (capped)
  std::string url;
};

struct BodyStream {
  // Called once before the first byte of a 2xx body; may reject the response.
  std::function<util::Result<void>(const HttpResponse& head)> on_start;
  std::function<util::Result<void>(std::string_view chunk)> on_data;
};

enum class HttpMethod { Get, Head, Post, Put };

struct HttpRequest {
  HttpMethod method = HttpMethod::Get;
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  const BodyStream* stream = nullptr;
  std::string_view body;  // request body of a Post/Put (must outlive the call)
  long connect_timeout_s = 15;
  long stall_timeout_s = 30;  // abort when < 1 byte/s for this long
};

// Transport failures (connect, TLS, timeout, truncated transfer) come back as
// ErrorCode::Network with curl's message; any HTTP status is a value.
util::Result<HttpResponse> http_perform(const HttpRequest& request);

// Resolves a (possibly relative) Location against `base`.
util::Result<std::string> resolve_url(std::string_view base, std::string_view location);
// "host[:port]" of an absolute URL ("" when unparsable).
std::string url_authority(std::string_view url);

}  // namespace oci
