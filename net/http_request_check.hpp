// The per-request decision of the HTTP proxy, apart from any socket (a pure function,
// tested from strings): is this request head, on this connection, forwarded — and with
// which secrets injected — or refused, with which status and reason?
//
// In order, each step refusing on failure (docs/network-policy.md "HTTP requests"):
//  1. CONNECT is refused (405): the flow already has its destination.
//  2. Exactly one Host header, holding a valid authority (net/hostname.hpp).
//  3. The target is origin-form ("/path"), "*" for OPTIONS, or absolute-form
//     ("http[s]://AUTHORITY/path") whose authority equals the Host header's.
//  4. An authority other than the connection's name must itself be allowed by the policy
//     (no fronting through an allowed address); on a host service's connection
//     (NAME.host.internal) no other authority at all.
//  5. The body's framing (Content-Length / Transfer-Encoding) is valid — decided before
//     anything is rewritten, so no error ever carries an injected value.
//     An `Upgrade: h2c` offer is dropped (with HTTP2-Settings and its Connection tokens):
//     HTTP/2 frames would carry authorities this check never sees.
//  6. Secret placeholders: refused over plain HTTP, in the method, path, header names and
//     framing/routing headers (Host, Content-Length, Transfer-Encoding, Connection,
//     Keep-Alive, Upgrade, TE, Trailer, Proxy-*), where the secret's `inject` does not
//     allow them, and unless BOTH the connection's (verified TLS) name and the request's
//     authority are among the secret's hosts. Then, and only then, they are replaced.
// Reasons never quote a header value or the target: they may be shown to the guest and
// are written to the audit log.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "net/http_message.hpp"
#include "net/policy.hpp"
#include "net/secrets.hpp"

namespace net {

struct RequestScope {
  std::string_view conn_name;  // the connection's name (SNI / DNS name) or its address text
  uint16_t conn_port = 0;
  Transport transport = Transport::PlainHttp;
};

struct RequestVerdict {
  int status = 0;                     // 0: forward; otherwise the refusal status (400, 403, 405)
  std::string reason;                 // why it was refused (for the audit log and the response)
  std::string body;                   // the refusal's response body (policy refusals say how to allow)
  std::string rule;                   // the policy rule behind a refusal, if any
  std::string host;                   // the request's authority host (canonical), "" when unknown
  uint16_t port = 0;                  // the request's effective port
  std::vector<std::string> injected;  // names of secrets whose values were put in
  BodyFraming framing;                // the request body's framing (when forwarded)
  bool refused() const { return status != 0; }
};

// Decides REQUEST; when forwarded, REQUEST has had its placeholders replaced.
RequestVerdict check_request(HttpHead& request, const RequestScope& scope, const Policy& policy,
                             const SecretTable* secrets);

}  // namespace net
