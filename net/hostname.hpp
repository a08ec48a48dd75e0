// Host names and authorities from untrusted input: DNS questions, TLS SNI, HTTP Host
// headers, absolute-form request targets, rules in the Matchlockfile. This is the one
// place that decides whether a text is a host name; every entry point calls it, and
// nothing else reaches the host resolver (resolve_upstream refuses what fails here).
//
// A valid host name (RFC 1035 §2.3.1, RFC 1123 §2.1, RFC 3696 §2):
//   - 1..253 characters of dot-separated labels, each 1..63 characters;
//   - labels of ASCII letters, digits and '-' only, not starting or ending with '-';
//     internationalised names only as their xn-- A-labels (which are such labels);
//   - the last label starts with a letter, so no valid name is ever read as a numeric
//     address by a resolver (inet_aton takes "0x7f.1" and "2130706433" as 127.0.0.1).
// Anything else — NUL, '.', '_', '\\', '%', control bytes, non-ASCII — refuses the name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace net {

bool is_valid_hostname(std::string_view name);

// NAME in canonical form: ASCII-lowercased, one trailing dot (the fully-qualified form)
// dropped; nullopt unless the result is a valid host name.
std::optional<std::string> canonical_hostname(std::string_view name);

// The authority of a Host header or an http(s) URI (RFC 9110 §4.2.3, §7.2):
// "name[:port]" or "a.b.c.d[:port]". Userinfo, IPv6 literals, empty or zero ports and
// invalid names are refused (nullopt).
struct Authority {
  std::string host;   // canonical name, or the dotted-quad address
  uint16_t port = 0;  // 0 when absent
  bool is_address = false;
  // HOST, or HOST:PORT when a port was given.
  std::string to_string() const;
};
std::optional<Authority> parse_authority(std::string_view text);

// "https://host[:port]/path" with the default port dropped and the host lowercase.
std::string canonical_https_url(std::string_view host, uint16_t port, std::string_view path);

}  // namespace net
