// Registry authentication pieces that need no network: WWW-Authenticate
// challenges (RFC 7235 auth-params) and token-server responses
// (distribution token spec: "token" or "access_token", "expires_in").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace oci {

struct Challenge {
  std::string scheme;                         // lower-case: "bearer", "basic"
  std::map<std::string, std::string> params;  // lower-case names: realm, service, scope, error
};

// Parses a WWW-Authenticate value (possibly several comma-separated challenges).
util::Result<std::vector<Challenge>> parse_www_authenticate(std::string_view header);

struct Token {
  std::string token;
  int64_t expires_in = 60;  // seconds; the spec's default when absent (or not positive)
};

util::Result<Token> parse_token_response(std::string_view json);

// The token request URL: realm?service=S&scope=repository:REPO:pull (URL-encoded).
// `actions`: the scope's actions ("pull", or "pull,push" to upload).
std::string token_url(const Challenge& bearer, std::string_view repository, std::string_view actions = "pull");

std::string base64_encode(std::string_view data);
util::Result<std::string> base64_decode(std::string_view data);

}  // namespace oci
