// Secret placeholders: the guest only ever sees MATCHLOCK_SECRET_<32 hex>; the
// proxy swaps in the real value on requests to the hosts the secret is bound to,
// in header values, the URL query and decoded Basic credentials. Request bodies are
// not rewritten. A placeholder headed anywhere else, over plain HTTP, or in a framing or
// routing header (Host, Content-Length, Transfer-Encoding, Connection, Keep-Alive,
// Upgrade, TE, Trailer, Proxy-*) is refused.
// Responses from intercepted (secret-bound) hosts come back through net/secret_scrubber:
// known values become placeholders again, and a new token shaped like a secret's value
// (an OAuth refresh) is learned as a new binding of the same hosts (learn()).
// Values live only in this table (memory), are wiped on destruction and are never
// logged; errors and audit records name secrets by NAME only. The table is thread-safe;
// it only grows (learned tokens), no binding ever changes or goes away.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "net/hostname.hpp"  // canonical_https_url
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
  // "https://HOST[:PORT]/PATH" (canonical_https_url): the OAuth token endpoint whose POST
  // bodies get VALUE (a refresh grant carries the refresh token in its body); "" = none.
  std::string refresh_url = {};
};

// What another value of the same kind of token looks like (an OAuth refresh's new access
// token beside the old one): the same scheme prefix ("sk-ant-oat01-", "ghp_", "npm_") and
// a similar length, or any JWT for a JWT. Values without such a shape (random hex) have none.
struct TokenShape {
  std::string prefix;  // lowercase [a-z0-9]{1,8} segments each ending in '-' or '_'; "" for a JWT
  bool jwt = false;
  size_t min_size = 0;  // whole token, prefix included
  size_t max_size = 0;
};
std::optional<TokenShape> token_shape(std::string_view value);
// [A-Za-z0-9_-]: the characters of a token's random part (and '.' inside a JWT).
bool is_token_char(char c);

// One binding as a response scanner needs it (copied out of the table: wipe VALUE after use).
struct ScanEntry {
  std::string name;
  std::string value;
  std::string placeholder;
  std::optional<TokenShape> shape;  // only for bindings bound to the scanned connection
};

inline constexpr std::string_view k_placeholder_prefix = "MATCHLOCK_SECRET_";
inline constexpr size_t k_placeholder_size = k_placeholder_prefix.size() + 32;

// A fresh placeholder from the OS CSPRNG.
util::Result<std::string> generate_placeholder();
// TEXT has a placeholder's shape: k_placeholder_prefix and 32 lowercase hex digits.
bool is_placeholder(std::string_view text);

enum class Transport { PlainHttp, Tls };

// Where a request is going, for deciding whether a secret may be put in it: a value is
// injected only when the connection's verified name AND the request's authority (its
// Host header, equal to any absolute-form target's) are both among the secret's hosts.
struct InjectionScope {
  std::string_view conn_name;  // the TLS name the upstream was verified for
  uint16_t conn_port = 0;
  std::string_view authority;  // the request's Host (canonical)
  uint16_t authority_port = 0;
  Transport transport = Transport::PlainHttp;
};

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
  // Before any flow runs only (the reference is not protected against learn()).
  const std::vector<SecretBinding>& bindings() const { return m_bindings; }
  bool empty() const;

  // For a scanner of what comes back on a connection to CONN_NAME:CONN_PORT: every
  // binding's value (at least k_min_scrub_size bytes), with the token shape of those
  // bound to that connection.
  std::vector<ScanEntry> scan_entries(std::string_view conn_name, uint16_t conn_port) const;
  // VALUE (a token shaped like secret PARENT's value, seen coming back from one of its
  // hosts) gets a placeholder of its own, bound like PARENT; the existing placeholder when
  // VALUE is known. Bounded: after k_max_learned the answer is a placeholder bound nowhere.
  util::Result<std::string> learn(std::string_view parent, std::string value) const;
  static constexpr size_t k_max_learned = 256;
  // Whether some secret is bound to HOST:PORT (such flows are intercepted).
  bool bound_to(std::string_view host, uint16_t port) const;
  // Names of the secrets whose placeholders occur in TEXT (for refusing/auditing).
  std::vector<std::string> placeholders_in(std::string_view text) const;

  // Replaces placeholders in REQUEST (see InjectionScope). Errors (code Denied) name the
  // secret and the reason, never a value; REQUEST is left untouched then.
  util::Result<RewriteResult> rewrite(HttpHead& request, const InjectionScope& scope) const;

  // Request bodies are not rewritten, except toward a secret's refresh_url: whether some
  // secret names URL (then its POST bodies are read whole and passed to rewrite_body).
  bool has_refresh_url(std::string_view url) const;
  // In BODY of a POST to URL: placeholders of secrets whose refresh_url is URL become their
  // values, encoded for the body (JSON string escapes for application/json, percent-encoding
  // for application/x-www-form-urlencoded, as they are otherwise), under the scope rules of
  // rewrite(). Other placeholders stay as they are.
  util::Result<RewriteResult> rewrite_body(std::string& body, std::string_view url, std::string_view content_type,
                                           const InjectionScope& scope) const;
  static constexpr size_t k_max_refresh_body = 64 * 1024;

  // Replaces every real value in TEXT with "[secret NAME]": the last line of defence
  // for every text the proxy writes (responses it makes up, audit records, logs).
  // Values shorter than k_min_scrub_size are not searched for (they would match
  // ordinary text); secret values are far longer in practice.
  void scrub(std::string& text) const;
  static constexpr size_t k_min_scrub_size = 4;

 private:
  const SecretBinding* find(std::string_view placeholder) const;  // with m_mutex held
  // Learned bindings are appended (learn() is const: the table's contract, what a
  // placeholder means, never changes; it only gains new placeholders).
  mutable std::vector<SecretBinding> m_bindings;
  mutable size_t m_learned = 0;
  mutable std::unique_ptr<std::shared_mutex> m_mutex = std::make_unique<std::shared_mutex>();
};

// Host, Content-Length, Transfer-Encoding, Connection, Keep-Alive, Upgrade, TE, Trailer
// and every Proxy-* header: where a secret is never injected.
bool is_routing_header(std::string_view name);

std::string base64_encode(std::string_view data);
// Empty optional-like: returns false when TEXT is not valid base64.
bool base64_decode(std::string_view text, std::string& out);

}  // namespace net
