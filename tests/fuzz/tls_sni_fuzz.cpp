// Fuzz target: the TLS ClientHello sniffer (net/tls_sni) as the proxy uses it on a guest's
// first bytes, then the name decision it feeds (net/hostname + net/policy).
// Input: the bytes the guest sent. Invariants: the proxy calls the parser again as more bytes
// arrive, so a prefix's verdict must agree with the whole's (NeedMore until decided, then the
// same verdict and name); a name the policy allows is a valid host name.
#include "net/hostname.hpp"
#include "net/policy.hpp"
#include "net/rule.hpp"
#include "net/tls_sni.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

const net::Policy& policy() {
  static const net::Policy p = [] {
    std::vector<net::Rule> allow, deny;
    for (const char* r : {"*.allowed.test", "allowed.test", "10.0.0.0/8"}) allow.push_back(net::parse_rule(r).value());
    deny.push_back(net::parse_rule("deny.allowed.test").value());
    return net::Policy(allow, deny, net::BlockPrivate::Yes);
  }();
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  net::ClientHello whole = net::parse_client_hello(in);
  if (whole.status != net::HelloStatus::Complete) FUZZ_CHECK(whole.server_name.empty() && whole.alpn.empty());

  // The verdict on a prefix: NeedMore, or already the whole's (a later byte cannot change
  // a decided hello). Prefixes at every record boundary and at one more point.
  for (size_t cut : {size_t{1}, size_t{5}, size / 2, size - (size > 0 ? 1 : 0)}) {
    if (cut == 0 || cut >= size) continue;
    net::ClientHello part = net::parse_client_hello(in.first(cut));
    if (part.status == net::HelloStatus::NeedMore) continue;
    FUZZ_CHECK(part.status == whole.status);
    FUZZ_CHECK(part.server_name == whole.server_name && part.alpn == whole.alpn);
    FUZZ_CHECK(part.encrypted_hello == whole.encrypted_hello);
  }

  if (whole.status == net::HelloStatus::Complete && !whole.server_name.empty()) {
    // What proxy_flow does with it: a name that is not a valid host name is refused (alert)
    // before the policy; a valid one is decided in canonical form.
    if (auto sni = net::canonical_hostname(whole.server_name)) {
      FUZZ_CHECK(net::is_valid_hostname(*sni));
      (void)policy().decide_name(*sni, 443);
    }
    // The policy's own rule, whoever calls it: what is neither a host name (in any case, with
    // or without the final dot) nor an address is refused.
    const std::string& raw = whole.server_name;
    bool name = net::canonical_hostname(raw).has_value();
    if (policy().decide_name(raw, 443).allowed()) FUZZ_CHECK(name || net::parse_ipv4(raw).has_value());
    if (policy().decide_dns(raw).allowed()) FUZZ_CHECK(name);
  }
  return 0;
}
