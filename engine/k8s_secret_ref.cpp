#include "engine/k8s_secret_ref.hpp"

namespace engine {

namespace {

constexpr size_t k_max_name = 253;

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool is_dns1123_subdomain(std::string_view s) {
  if (s.empty() || s.size() > k_max_name || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  for (char c : s)
    if (!lower_alnum(c) && c != '-' && c != '.') return false;
  return true;
}

bool is_secret_key(std::string_view s) {
  if (s.empty() || s.size() > k_max_name || s == "." || s.starts_with("..")) return false;
  for (char c : s)
    if (!lower_alnum(c) && !(c >= 'A' && c <= 'Z') && c != '-' && c != '.' && c != '_') return false;
  return true;
}

}  // namespace

util::Result<K8sSecretRef> parse_k8s_secret_ref(std::string_view text) {
  auto fail = [&](std::string why) {
    return util::make_error(util::ErrorCode::Config, "\"" + std::string(text) + "\": " + why);
  };
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return fail("must be SECRET/KEY (a Kubernetes Secret and one of its keys)");
  K8sSecretRef ref{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
  if (!is_dns1123_subdomain(ref.secret))
    return fail("the Secret name \"" + ref.secret +
                "\" is not a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', at most 253)");
  if (ref.key.find('/') != std::string::npos) return fail("SECRET/KEY has exactly one '/'");
  if (!is_secret_key(ref.key))
    return fail("the key \"" + ref.key +
                "\" is not a Secret key ([-._a-zA-Z0-9]+, at most 253, not '.' and not starting with '..')");
  return ref;
}

}  // namespace engine
