#include "net/secrets.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

namespace net {

namespace {

constexpr std::string_view k_b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Calls FN(pos) for each well-formed placeholder in TEXT.
template <class F>
void for_each_placeholder(std::string_view text, F&& fn) {
  size_t pos = 0;
  while ((pos = text.find(k_placeholder_prefix, pos)) != std::string_view::npos) {
    if (text.size() - pos >= k_placeholder_size) {
      bool ok = true;
      for (size_t i = pos + k_placeholder_prefix.size(); i < pos + k_placeholder_size; ++i) ok = ok && is_hex(text[i]);
      if (ok) {
        fn(pos);
        pos += k_placeholder_size;
        continue;
      }
    }
    pos += k_placeholder_prefix.size();
  }
}

util::Error refuse(std::string message) { return util::make_error(util::ErrorCode::Denied, std::move(message)); }

enum class Where { Header, Query, Basic, Path, Routing };
const char* where_name(Where w) {
  switch (w) {
    case Where::Header:
      return "a header";
    case Where::Query:
      return "the URL query";
    case Where::Basic:
      return "Basic credentials";
    case Where::Path:
      return "the URL path or method";
    case Where::Routing:
      return "a framing or routing header";
  }
  return "";
}

}  // namespace

util::Result<std::string> generate_placeholder() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) return util::make_error(util::ErrorCode::Internal, "RAND_bytes failed");
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out(k_placeholder_prefix);
  for (unsigned char b : raw) {
    out += k_hex[b >> 4];
    out += k_hex[b & 15];
  }
  return out;
}

bool is_placeholder(std::string_view text) {
  if (text.size() != k_placeholder_size || !text.starts_with(k_placeholder_prefix)) return false;
  for (char c : text.substr(k_placeholder_prefix.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

SecretTable::~SecretTable() {
  for (auto& b : m_bindings)
    if (!b.value.empty()) OPENSSL_cleanse(b.value.data(), b.value.size());
}

void SecretTable::add(SecretBinding binding) {
  std::unique_lock lock(*m_mutex);
  m_bindings.push_back(std::move(binding));
}

bool SecretTable::empty() const {
  std::shared_lock lock(*m_mutex);
  return m_bindings.empty();
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

std::optional<TokenShape> token_shape(std::string_view v) {
  auto all_token = [](std::string_view s, bool dots) {
    for (char c : s)
      if (!is_token_char(c) && !(dots && c == '.')) return false;
    return true;
  };
  // A JWT: three base64url parts, the first a JSON object ("eyJ" is base64 of "{\"").
  if (v.starts_with("eyJ") && std::count(v.begin(), v.end(), '.') == 2 && all_token(v, true) && v.size() >= 32)
    return TokenShape{"", true, 32, 16384};
  // A scheme prefix: up to 4 segments of [a-z0-9]{1,8}, each ending in '-' or '_'.
  size_t i = 0;
  bool letter = false;
  for (int segment = 0; segment < 4; ++segment) {
    size_t j = i;
    bool seg_letter = false;
    while (j < v.size() && j - i < 8 && ((v[j] >= 'a' && v[j] <= 'z') || (v[j] >= '0' && v[j] <= '9'))) {
      seg_letter = seg_letter || (v[j] >= 'a' && v[j] <= 'z');
      ++j;
    }
    if (j == i || j >= v.size() || (v[j] != '-' && v[j] != '_')) break;
    letter = letter || seg_letter;
    i = j + 1;
  }
  if (i < 3 || !letter || v.size() - i < 16 || !all_token(v.substr(i), false)) return std::nullopt;
  return TokenShape{std::string(v.substr(0, i)), false, i + (v.size() - i) / 2, i + (v.size() - i) * 2};
}

std::vector<ScanEntry> SecretTable::scan_entries(std::string_view conn_name, uint16_t conn_port) const {
  std::shared_lock lock(*m_mutex);
  std::vector<ScanEntry> out;
  for (const auto& b : m_bindings) {
    if (b.value.size() < k_min_scrub_size) continue;
    ScanEntry e{b.name, b.value, b.placeholder, std::nullopt};
    for (const auto& r : b.hosts)
      if (matches(r, conn_name, conn_port)) {
        e.shape = token_shape(b.value);
        break;
      }
    out.push_back(std::move(e));
  }
  return out;
}

util::Result<std::string> SecretTable::learn(std::string_view parent, std::string value) const {
  std::unique_lock lock(*m_mutex);
  for (const auto& b : m_bindings)
    if (b.value == value) {
      OPENSSL_cleanse(value.data(), value.size());
      return b.placeholder;
    }
  const SecretBinding* from = nullptr;
  for (const auto& b : m_bindings)
    if (b.name == parent) from = &b;
  SecretBinding learned;
  learned.placeholder = ML_TRY(generate_placeholder());
  learned.value = std::move(value);
  if (from && m_learned < k_max_learned) {
    learned.name = std::string(parent) + "+" + std::to_string(++m_learned);
    learned.hosts = from->hosts;
    learned.inject = from->inject;
    learned.refresh_url = from->refresh_url;
  } else {
    // Over the bound: still never shown to the guest, but usable nowhere.
    learned.name = std::string(parent) + "+withheld";
  }
  std::string placeholder = learned.placeholder;
  m_bindings.push_back(std::move(learned));
  return placeholder;
}

const SecretBinding* SecretTable::find(std::string_view placeholder) const {
  for (const auto& b : m_bindings)
    if (b.placeholder == placeholder) return &b;
  return nullptr;
}

bool SecretTable::bound_to(std::string_view host, uint16_t port) const {
  std::shared_lock lock(*m_mutex);
  for (const auto& b : m_bindings)
    for (const auto& r : b.hosts)
      if (matches(r, host, port)) return true;
  return false;
}

std::vector<std::string> SecretTable::placeholders_in(std::string_view text) const {
  std::shared_lock lock(*m_mutex);
  std::vector<std::string> names;
  for_each_placeholder(text, [&](size_t pos) {
    if (const auto* b = find(text.substr(pos, k_placeholder_size))) names.push_back(b->name);
  });
  return names;
}

void SecretTable::scrub(std::string& text) const {
  std::shared_lock lock(*m_mutex);
  for (const auto& b : m_bindings) {
    if (b.value.size() < k_min_scrub_size) continue;
    std::string mark = "[secret " + b.name + "]";
    for (size_t pos = 0; (pos = text.find(b.value, pos)) != std::string::npos; pos += mark.size())
      text.replace(pos, b.value.size(), mark);
  }
}

bool is_routing_header(std::string_view name) {
  static constexpr std::string_view k_names[] = {
      "host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"};
  for (auto n : k_names)
    if (iequals(name, n)) return true;
  return name.size() >= 6 && iequals(name.substr(0, 6), "proxy-");
}

util::Result<RewriteResult> SecretTable::rewrite(HttpHead& request, const InjectionScope& scope) const {
  std::shared_lock lock(*m_mutex);
  std::string_view host = scope.authority;
  // Plan first: collect every (string, where) to rewrite and check each placeholder.
  RewriteResult result;
  auto check = [&](std::string_view text, Where where) -> util::Result<void> {
    std::optional<util::Error> err;
    for_each_placeholder(text, [&](size_t pos) {
      if (err) return;
      const SecretBinding* b = find(text.substr(pos, k_placeholder_size));
      if (!b) return;  // not one of ours: an ordinary string
      if (scope.transport == Transport::PlainHttp) {
        err = refuse("placeholder for secret " + b->name + " sent over plain HTTP to " + std::string(host) +
                     "; secrets are only injected into HTTPS requests (the value would travel in clear text)");
        return;
      }
      bool conn_bound = false, authority_bound = false;
      for (const auto& r : b->hosts) {
        conn_bound = conn_bound || matches(r, scope.conn_name, scope.conn_port);
        authority_bound = authority_bound || matches(r, host, scope.authority_port);
      }
      if (!authority_bound || !conn_bound) {
        std::string to = std::string(authority_bound ? scope.conn_name : host);
        err = refuse("placeholder for secret " + b->name + " sent to " + to +
                     ", which the secret is not bound to (secrets." + b->name + ".hosts)");
        return;
      }
      if (where == Where::Routing) {
        err = refuse("placeholder for secret " + b->name +
                     " in a framing or routing header (such headers never receive a secret)");
        return;
      }
      bool permitted = (where == Where::Header && b->inject.header) || (where == Where::Query && b->inject.query) ||
                       (where == Where::Basic && b->inject.basic);
      if (!permitted) {
        err = refuse("placeholder for secret " + b->name + " in " + where_name(where) +
                     " is not injected there (secrets." + b->name + ".inject)");
        return;
      }
      bool seen = false;
      for (const auto& n : result.injected) seen = seen || n == b->name;
      if (!seen) result.injected.push_back(b->name);
    });
    if (err) return std::move(*err);
    return util::ok();
  };
  auto replace = [&](std::string& text) {
    std::string out;
    size_t last = 0;
    for_each_placeholder(text, [&](size_t pos) {
      const SecretBinding* b = find(std::string_view(text).substr(pos, k_placeholder_size));
      if (!b) return;
      out.append(text, last, pos - last);
      out += b->value;
      last = pos + k_placeholder_size;
    });
    if (last == 0) return;
    out.append(text, last);
    OPENSSL_cleanse(text.data(), text.size());
    text = std::move(out);
  };

  auto qmark = request.target.find('?');
  std::string_view path = std::string_view(request.target).substr(0, qmark);
  ML_TRY(check(request.method, Where::Path));
  ML_TRY(check(path, Where::Path));
  if (qmark != std::string::npos) ML_TRY(check(std::string_view(request.target).substr(qmark), Where::Query));
  std::vector<std::string> basic_plain(request.headers.size());
  for (size_t i = 0; i < request.headers.size(); ++i) {
    const auto& h = request.headers[i];
    ML_TRY(check(h.name, Where::Path));  // a header NAME is no injection point
    if (is_routing_header(h.name)) {
      ML_TRY(check(h.value, Where::Routing));
      continue;
    }
    if (iequals(h.name, "authorization") && h.value.size() > 6 &&
        iequals(std::string_view(h.value).substr(0, 6), "basic ")) {
      std::string decoded;
      if (base64_decode(std::string_view(h.value).substr(6), decoded)) {
        ML_TRY(check(decoded, Where::Basic));
        basic_plain[i] = std::move(decoded);
      }
    }
    ML_TRY(check(h.value, Where::Header));
  }
  if (result.injected.empty()) return result;

  // Act: nothing failed, rewrite in place.
  if (qmark != std::string::npos) {
    std::string query = request.target.substr(qmark);
    replace(query);
    request.target = request.target.substr(0, qmark) + query;
  }
  for (size_t i = 0; i < request.headers.size(); ++i) {
    auto& h = request.headers[i];
    bool basic_has_ours = false;
    for_each_placeholder(basic_plain[i], [&](size_t pos) {
      basic_has_ours = basic_has_ours || find(std::string_view(basic_plain[i]).substr(pos, k_placeholder_size));
    });
    if (basic_has_ours) {
      replace(basic_plain[i]);
      h.value = h.value.substr(0, 6) + base64_encode(basic_plain[i]);
      OPENSSL_cleanse(basic_plain[i].data(), basic_plain[i].size());
    } else {
      replace(h.value);
    }
  }
  return result;
}

bool SecretTable::has_refresh_url(std::string_view url) const {
  std::shared_lock lock(*m_mutex);
  for (const auto& b : m_bindings)
    if (!b.refresh_url.empty() && b.refresh_url == url) return true;
  return false;
}

namespace {

std::string encode_for_body(std::string_view value, std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  std::string out;
  if (iequals(type, "application/json")) {
    for (char c : value) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
        out += buf;
      } else {
        out += c;
      }
    }
    return out;
  }
  if (iequals(type, "application/x-www-form-urlencoded")) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    for (char c : value) {
      bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '.' || c == '_' || c == '~';
      if (unreserved) {
        out += c;
      } else {
        out += '%';
        out += k_hex[static_cast<unsigned char>(c) >> 4];
        out += k_hex[static_cast<unsigned char>(c) & 15];
      }
    }
    return out;
  }
  return std::string(value);
}

}  // namespace

util::Result<RewriteResult> SecretTable::rewrite_body(std::string& body, std::string_view url,
                                                      std::string_view content_type,
                                                      const InjectionScope& scope) const {
  std::shared_lock lock(*m_mutex);
  RewriteResult result;
  std::string out;
  size_t last = 0;
  std::optional<util::Error> err;
  for_each_placeholder(body, [&](size_t pos) {
    if (err) return;
    const SecretBinding* b = find(std::string_view(body).substr(pos, k_placeholder_size));
    if (!b || b->refresh_url.empty() || b->refresh_url != url) return;  // not for this endpoint: left as it is
    bool conn_bound = false, authority_bound = false;
    for (const auto& r : b->hosts) {
      conn_bound = conn_bound || matches(r, scope.conn_name, scope.conn_port);
      authority_bound = authority_bound || matches(r, scope.authority, scope.authority_port);
    }
    if (scope.transport != Transport::Tls || !conn_bound || !authority_bound) {
      err = refuse("placeholder for secret " + b->name + " in a request body outside its refresh_url");
      return;
    }
    out.append(body, last, pos - last);
    std::string encoded = encode_for_body(b->value, content_type);
    out += encoded;
    OPENSSL_cleanse(encoded.data(), encoded.size());
    last = pos + k_placeholder_size;
    if (std::find(result.injected.begin(), result.injected.end(), b->name) == result.injected.end())
      result.injected.push_back(b->name);
  });
  if (err) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::move(*err);
  }
  if (last == 0) return result;
  out.append(body, last);
  OPENSSL_cleanse(body.data(), body.size());
  body = std::move(out);
  return result;
}

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t n = (uint32_t(uint8_t(data[i])) << 16) | (uint32_t(uint8_t(data[i + 1])) << 8) | uint8_t(data[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += k_b64[(n >> s) & 63];
  }
  size_t rest = data.size() - i;
  if (rest) {
    uint32_t n = uint32_t(uint8_t(data[i])) << 16;
    if (rest == 2) n |= uint32_t(uint8_t(data[i + 1])) << 8;
    out += k_b64[(n >> 18) & 63];
    out += k_b64[(n >> 12) & 63];
    out += rest == 2 ? k_b64[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  if (text.size() % 4 != 0) return false;
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '=') {
      if (i + 2 < text.size()) return false;
      ++pad;
      continue;
    }
    if (pad) return false;
    auto v = k_b64.find(c);
    if (v == std::string_view::npos) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return true;
}

}  // namespace net
