// HTTP/1.1 message heads (RFC 9112): parsed from the bytes up to and including
// the blank line, re-serialised after rewriting. Bodies are framed, not parsed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace net {

struct HttpHeader {
  std::string name;   // as sent
  std::string value;  // trimmed of surrounding whitespace
};

struct HttpHead {
  // Request: method, target, version. Response: version, status, reason.
  std::string method;
  std::string target;
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  std::vector<HttpHeader> headers;

  // The first value of NAME (case-insensitive), if present.
  std::optional<std::string> header(std::string_view name) const;
  // Whether a comma-separated header NAME contains TOKEN (case-insensitive).
  bool header_has_token(std::string_view name, std::string_view token) const;
  std::string serialize_request() const;
  std::string serialize_response() const;
};

enum class BodyKind { None, Length, Chunked, UntilClose };
struct BodyFraming {
  BodyKind kind = BodyKind::None;
  uint64_t length = 0;  // BodyKind::Length
};

inline constexpr size_t k_max_head_bytes = 64 * 1024;

// Do the first bytes of a stream start an HTTP request line ("TOKEN SP TARGET SP HTTP/...",
// any RFC 9110 token as the method, any HTTP version: the parser refuses what it cannot
// speak)? NeedMore until the first line is complete (or clearly not HTTP).
enum class Sniff { Yes, No, NeedMore };
Sniff looks_like_http_request(std::string_view first_bytes);

// TEXT is one complete head (ending in CRLF CRLF). Control bytes (but HTAB), obsolete line
// folding and invalid names are refused. Error messages never quote the head's text.
util::Result<HttpHead> parse_request_head(std::string_view text);
util::Result<HttpHead> parse_response_head(std::string_view text);

// Request body framing (RFC 9112 section 6.3). Errors on conflicting or invalid lengths
// (request smuggling is refused, not guessed at).
util::Result<BodyFraming> request_framing(const HttpHead& request);
util::Result<BodyFraming> response_framing(const HttpHead& response, std::string_view request_method);
// Whether the connection stays open after this exchange.
bool keeps_alive(const HttpHead& request, const HttpHead& response);

// What the audit log records of a request target: its path without the query; for an
// absolute-form target ("http://host/p?q") the path alone ("/p"). CONNECT's: "".
std::string audit_path(std::string_view method, std::string_view target);

// A small complete response (for 403/400/502 made up by the proxy).
std::string make_response(int status, std::string_view reason, std::string_view body);

bool iequals(std::string_view a, std::string_view b);

}  // namespace net
