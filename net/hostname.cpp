#include "net/hostname.hpp"

#include <charconv>

#include "net/ipv4.hpp"

namespace net {

namespace {

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ldh(char c) { return is_letter(c) || is_digit(c) || c == '-'; }

}  // namespace

bool is_valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!is_ldh(c)) return false;
    if (dot == std::string_view::npos) return is_letter(label.front());
    start = dot + 1;
  }
}

std::optional<std::string> canonical_hostname(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out(name);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (!is_valid_hostname(out)) return std::nullopt;
  return out;
}

std::string Authority::to_string() const { return port ? host + ":" + std::to_string(port) : host; }

std::optional<Authority> parse_authority(std::string_view text) {
  Authority a;
  if (text.find('@') != std::string_view::npos || text.starts_with('[')) return std::nullopt;
  auto colon = text.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view p = text.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (p.empty() || p.size() > 5 || ec != std::errc() || end != p.data() + p.size() || port == 0 || port > 65535)
      return std::nullopt;
    a.port = static_cast<uint16_t>(port);
    text = text.substr(0, colon);
  }
  if (auto address = parse_ipv4(text)) {
    a.host = address->to_string();
    a.is_address = true;
    return a.host == text ? std::optional<Authority>(a) : std::nullopt;  // only the canonical dotted quad
  }
  auto name = canonical_hostname(text);
  if (!name) return std::nullopt;
  a.host = std::move(*name);
  return a;
}

std::string canonical_https_url(std::string_view host, uint16_t port, std::string_view path) {
  std::string out = "https://";
  for (char c : host) out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (port != 0 && port != 443) out += ":" + std::to_string(port);
  out += path.empty() ? std::string_view("/") : path;
  return out;
}

}  // namespace net
