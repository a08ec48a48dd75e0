// Secret placeholders: the guest only ever sees MATCHLOCK_SECRET_<32 hex>; the
// proxy swaps in the real value on requests to the hosts the secret is bound to,
// in header values, the URL query and decoded Basic credentials. Bodies are not
// rewritten. A placeholder headed anywhere else, or over plain HTTP, is refused.
// Values live only in this table (memory), are wiped on destruction and are never
// logged; errors and audit records name secrets by NAME only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_message.hpp"
#include "net/rule.hpp"
#include "util/result.hpp"

namespace net {

struct InjectWhere {
  bool header = true;
  bool query = true;
  bool basic = true;
};

struct SecretBinding {
  std::string name;         // e.g. GH_TOKEN
  std::string placeholder;  // MATCHLOCK_SECRET_<32 hex>
  std::string value;        // the real secret
  std::vector<Rule> hosts;  // where VALUE may go
  InjectWhere inject;
};

inline constexpr std::string_view k_placeholder_prefix = "MATCHLOCK_SECRET_";
inline constexpr size_t k_placeholder_size = k_placeholder_prefix.size() + 32;

// A fresh placeholder from the OS CSPRNG.
util::Result<std::string> generate_placeholder();

enum class Transport { PlainHttp, Tls };

struct RewriteResult {
  std::vector<std::string> injected;  // secret NAMES whose values went into the request
};

class SecretTable {
 public:
  SecretTable() = default;
  ~SecretTable();
  SecretTable(SecretTable&&) = default;
  SecretTable& operator=(SecretTable&&) = default;
  SecretTable(const SecretTable&) = delete;
  SecretTable& operator=(const SecretTable&) = delete;

  void add(SecretBinding binding);
  const std::vector<SecretBinding>& bindings() const { return m_bindings; }
  bool empty() const { return m_bindings.empty(); }
  // Whether some secret is bound to HOST:PORT (such flows are intercepted).
  bool bound_to(std::string_view host, uint16_t port) const;
  // Names of the secrets whose placeholders occur in TEXT (for refusing/auditing).
  std::vector<std::string> placeholders_in(std::string_view text) const;

  // Replaces placeholders in REQUEST bound for HOST:PORT. Errors (code Denied) name
  // the secret and the reason; REQUEST is left untouched then.
  util::Result<RewriteResult> rewrite(HttpHead& request, std::string_view host, uint16_t port,
                                      Transport transport) const;

 private:
  const SecretBinding* find(std::string_view placeholder) const;
  std::vector<SecretBinding> m_bindings;
};

std::string base64_encode(std::string_view data);
// Empty optional-like: returns false when TEXT is not valid base64.
bool base64_decode(std::string_view text, std::string& out);

}  // namespace net
