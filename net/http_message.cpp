#include "net/http_message.hpp"

#include <charconv>

namespace net {

namespace {

util::Error bad(std::string what) { return util::make_error(util::ErrorCode::Network, "bad HTTP message: " + what); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Control bytes other than HTAB (RFC 9110 §5.5: not allowed in field values or the start line).
bool is_ctl(char c) { return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f; }

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Splits the head into lines (CRLF; a bare LF is accepted), returns the start line and parses headers.
util::Result<std::string_view> split_head(std::string_view text, std::vector<HttpHeader>& headers) {
  if (!text.ends_with("\r\n\r\n") && !text.ends_with("\n\n")) return bad("head not terminated");
  size_t pos = 0;
  std::string_view start;
  bool first = true;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    for (char c : line)
      if (is_ctl(c)) return bad("control character in the head");
    if (first) {
      start = line;
      first = false;
      continue;
    }
    if (line.empty()) break;
    if (line.front() == ' ' || line.front() == '\t') return bad("obsolete header line folding");
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return bad("header without a name");
    std::string_view name = line.substr(0, colon);
    for (char c : name)
      if (!is_token_char(c)) return bad("invalid header name");
    headers.push_back({std::string(name), std::string(trim(line.substr(colon + 1)))});
  }
  if (start.empty()) return bad("empty start line");
  return start;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::optional<std::string> HttpHead::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return h.value;
  return std::nullopt;
}

bool HttpHead::header_has_token(std::string_view name, std::string_view token) const {
  for (const auto& h : headers) {
    if (!iequals(h.name, name)) continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      auto comma = v.find(',');
      if (iequals(trim(v.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return false;
}

std::string HttpHead::serialize_request() const {
  std::string out = method + " " + target + " " + version + "\r\n";
  for (const auto& h : headers) out += h.name + ": " + h.value + "\r\n";
  return out + "\r\n";
}

std::string HttpHead::serialize_response() const {
  std::string out = version + " " + std::to_string(status) + " " + reason + "\r\n";
  for (const auto& h : headers) out += h.name + ": " + h.value + "\r\n";
  return out + "\r\n";
}

Sniff looks_like_http_request(std::string_view b) {
  // A request line is METHOD SP TARGET SP HTTP/x.y, METHOD any RFC 9110 token.
  constexpr size_t k_max_method = 64, k_max_line = 16384;
  size_t i = 0;
  while (i < b.size() && i < k_max_method && is_token_char(b[i])) ++i;
  if (i == b.size()) return b.size() < k_max_method ? Sniff::NeedMore : Sniff::No;
  if (i == 0 || b[i] != ' ') return Sniff::No;
  auto nl = b.find('\n');
  if (nl == std::string_view::npos) return b.size() < k_max_line ? Sniff::NeedMore : Sniff::No;
  std::string_view line = b.substr(0, nl);
  if (line.ends_with('\r')) line.remove_suffix(1);
  auto sp = line.rfind(' ');
  return sp > i && line.substr(sp + 1).starts_with("HTTP/") ? Sniff::Yes : Sniff::No;
}

util::Result<HttpHead> parse_request_head(std::string_view text) {
  HttpHead h;
  std::string_view start = ML_TRY(split_head(text, h.headers));
  auto sp1 = start.find(' ');
  auto sp2 = start.rfind(' ');
  if (sp1 == std::string_view::npos || sp1 == sp2) return bad("malformed request line");
  h.method = start.substr(0, sp1);
  h.target = start.substr(sp1 + 1, sp2 - sp1 - 1);
  h.version = start.substr(sp2 + 1);
  for (char c : h.method)
    if (!is_token_char(c)) return bad("method");
  if (h.target.empty() || h.target.find(' ') != std::string::npos) return bad("request target");
  if (h.version != "HTTP/1.1" && h.version != "HTTP/1.0")
    return bad("unsupported HTTP version (only HTTP/1.0 and 1.1)");
  return h;
}

util::Result<HttpHead> parse_response_head(std::string_view text) {
  HttpHead h;
  std::string_view start = ML_TRY(split_head(text, h.headers));
  auto sp1 = start.find(' ');
  if (sp1 == std::string_view::npos || !start.starts_with("HTTP/1.")) return bad("status line");
  h.version = start.substr(0, sp1);
  std::string_view rest = start.substr(sp1 + 1);
  auto code = rest.substr(0, 3);
  int status = 0;
  auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), status);
  if (ec != std::errc() || end != code.data() + 3 || status < 100 || status > 999) return bad("status code");
  h.status = status;
  if (rest.size() > 4) h.reason = rest.substr(4);
  return h;
}

namespace {

util::Result<BodyFraming> framing_from_headers(const HttpHead& m, BodyKind fallback) {
  int te_count = 0;
  bool chunked_last = false;
  for (const auto& h : m.headers) {
    if (!iequals(h.name, "transfer-encoding")) continue;
    ++te_count;
    std::string_view v = trim(h.value);
    auto comma = v.rfind(',');
    chunked_last = iequals(trim(comma == std::string_view::npos ? v : v.substr(comma + 1)), "chunked");
  }
  std::optional<uint64_t> length;
  for (const auto& h : m.headers) {
    if (!iequals(h.name, "content-length")) continue;
    uint64_t n = 0;
    std::string_view v = h.value;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size()) return bad("invalid Content-Length");
    if (length && *length != n) return bad("conflicting Content-Length headers");
    length = n;
  }
  if (te_count > 0) {
    if (length) return bad("both Transfer-Encoding and Content-Length");
    if (chunked_last) return BodyFraming{BodyKind::Chunked, 0};
    if (fallback == BodyKind::None) return bad("request Transfer-Encoding without chunked");
    return BodyFraming{BodyKind::UntilClose, 0};
  }
  if (length) return BodyFraming{*length ? BodyKind::Length : BodyKind::None, *length};
  return BodyFraming{fallback, 0};
}

}  // namespace

util::Result<BodyFraming> request_framing(const HttpHead& request) {
  // RFC 9112 §6.1: a request's only transfer coding we pass is a single "chunked"; anything
  // else (and any Transfer-Encoding in HTTP/1.0) is faulty framing, refused, not guessed at.
  int te = 0;
  for (const auto& h : request.headers) {
    if (!iequals(h.name, "transfer-encoding")) continue;
    if (++te > 1 || !iequals(trim(h.value), "chunked")) return bad("unsupported request Transfer-Encoding");
  }
  if (te && request.version == "HTTP/1.0") return bad("Transfer-Encoding in an HTTP/1.0 request");
  return framing_from_headers(request, BodyKind::None);
}

util::Result<BodyFraming> response_framing(const HttpHead& response, std::string_view request_method) {
  if (iequals(request_method, "HEAD") || (response.status >= 100 && response.status < 200) || response.status == 204 ||
      response.status == 304)
    return BodyFraming{BodyKind::None, 0};
  return framing_from_headers(response, BodyKind::UntilClose);
}

bool keeps_alive(const HttpHead& request, const HttpHead& response) {
  for (const HttpHead* m : {&request, &response}) {
    if (m->header_has_token("connection", "close")) return false;
    if (m->version == "HTTP/1.0" && !m->header_has_token("connection", "keep-alive")) return false;
  }
  return true;
}

std::string make_response(int status, std::string_view reason, std::string_view body) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n";
  out += body;
  return out;
}

std::string audit_path(std::string_view method, std::string_view target) {
  if (method == "CONNECT") return {};
  if (auto scheme = target.find("://"); scheme != std::string_view::npos && !target.starts_with('/')) {
    std::string_view rest = target.substr(scheme + 3);
    auto slash = rest.find_first_of("/?#");
    target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
    if (target.starts_with('?') || target.starts_with('#')) target = "/";
  }
  return std::string(target.substr(0, target.find('?')));
}

}  // namespace net
