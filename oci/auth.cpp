#include "oci/auth.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace oci {

using util::ErrorCode;
using util::make_error;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ':' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

util::Result<std::vector<Challenge>> parse_www_authenticate(std::string_view h) {
  std::vector<Challenge> out;
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t' || h[i] == ',')) ++i;
  };
  auto bad = [&](std::string_view why) {
    return make_error(ErrorCode::Network, "malformed WWW-Authenticate \"" + std::string(h) + "\": " + std::string(why));
  };
  skip_ws();
  while (i < h.size()) {
    size_t start = i;
    while (i < h.size() && is_token_char(h[i])) ++i;
    if (i == start) return bad("expected an auth scheme");
    std::string word(h.substr(start, i - start));
    // "name=" after a scheme is a param of the current challenge.
    size_t j = i;
    while (j < h.size() && (h[j] == ' ' || h[j] == '\t')) ++j;
    if (!out.empty() && j < h.size() && h[j] == '=') {
      i = j + 1;
      while (i < h.size() && (h[i] == ' ' || h[i] == '\t')) ++i;
      std::string value;
      if (i < h.size() && h[i] == '"') {
        ++i;
        bool closed = false;
        while (i < h.size()) {
          char c = h[i++];
          if (c == '\\' && i < h.size()) {
            value += h[i++];
          } else if (c == '"') {
            closed = true;
            break;
          } else {
            value += c;
          }
        }
        if (!closed) return bad("unterminated quoted string");
      } else {
        size_t vs = i;
        while (i < h.size() && h[i] != ',' && h[i] != ' ') ++i;
        value = std::string(h.substr(vs, i - vs));
      }
      out.back().params[lower(word)] = value;
    } else {
      out.push_back(Challenge{lower(word), {}});
    }
    skip_ws();
  }
  if (out.empty()) return bad("no challenge");
  return out;
}

util::Result<Token> parse_token_response(std::string_view json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::Network, "token server response is not a JSON object");
  Token t;
  for (const char* key : {"token", "access_token"}) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
      t.token = it->get<std::string>();
      break;
    }
  }
  if (t.token.empty())
    return make_error(ErrorCode::Network, "token server response has neither \"token\" nor \"access_token\"");
  // The server knows when its registry stops accepting the token: a given
  // expires_in is honoured even below the spec's 60 s recommendation.
  if (auto e = j.find("expires_in"); e != j.end() && e->is_number_integer() && e->get<int64_t>() > 0)
    t.expires_in = e->get<int64_t>();
  return t;
}

std::string token_url(const Challenge& bearer, std::string_view repository, std::string_view actions) {
  std::string url = bearer.params.count("realm") ? bearer.params.at("realm") : std::string();
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  if (auto s = bearer.params.find("service"); s != bearer.params.end()) {
    url += sep + std::string("service=") + url_encode(s->second);
    sep = '&';
  }
  if (!repository.empty())
    url +=
        sep + std::string("scope=") + url_encode("repository:" + std::string(repository) + ":" + std::string(actions));
  return url;
}

std::string base64_encode(std::string_view data) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  while (i + 2 < data.size()) {
    uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
    i += 3;
  }
  if (i + 1 == data.size()) {
    uint32_t v = uint8_t(data[i]) << 16;
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    uint32_t v = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8);
    out += tbl[v >> 18];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

util::Result<std::string> base64_decode(std::string_view data) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : data) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    int v = val(c);
    if (v < 0) return make_error(ErrorCode::Config, "invalid base64");
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

}  // namespace oci
