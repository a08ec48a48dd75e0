// "SECRET/KEY": one key of a Kubernetes Secret, as `from = "k8s:SECRET/KEY"` and
// `matchlock gateway --secret NAME=SECRET/KEY` name it. The gateway reads the value from
// the file ROOT/SECRET/KEY (a Secret volume mounted at ROOT). Both parts are validated the
// way Kubernetes does, so a reference can never name a path outside ROOT:
//   SECRET  a DNS-1123 subdomain: [a-z0-9] ([-.a-z0-9]* [a-z0-9])?, at most 253 characters;
//   KEY     [-._a-zA-Z0-9]+, at most 253 characters, not "." or "..", not starting with "..".
#pragma once

#include <string>
#include <string_view>

#include "util/result.hpp"

namespace engine {

struct K8sSecretRef {
  std::string secret;
  std::string key;
  std::string text() const { return secret + "/" + key; }
};

// Errors (ErrorCode::Config) say which part is wrong and why; TEXT is quoted (it is no secret).
util::Result<K8sSecretRef> parse_k8s_secret_ref(std::string_view text);

}  // namespace engine
