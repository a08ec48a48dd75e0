// Fuzz target: DNS messages from the guest (net/dns_message) and the gateway's responder
// (net/dns_responder) with a real NameMap. Input: one UDP payload as the guest sends it.
// Invariants: only valid host names reach the policy callback and the NameMap; every
// response echoes the query's id and question; the host-name functions agree with each other.
#include <memory>
#include <string>

#include "net/bytes.hpp"
#include "net/dns_message.hpp"
#include "net/dns_responder.hpp"
#include "net/hostname.hpp"
#include "net/name_map.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

void check_response(const net::DnsQuery& q, const std::vector<uint8_t>& r, bool formerr) {
  FUZZ_CHECK(r.size() >= 12);
  FUZZ_CHECK(net::load_be16(r.data()) == q.id);
  FUZZ_CHECK((net::load_be16(r.data() + 2) & 0x8000) != 0);  // QR: a response
  if (formerr) return;
  FUZZ_CHECK(r.size() >= 12 + q.question.size());
  FUZZ_CHECK(std::equal(q.question.begin(), q.question.end(), r.begin() + 12));
  FUZZ_CHECK(r.size() <= 512);  // what a stub without EDNS accepts
}

void check_names(std::string_view text) {
  bool valid = net::is_valid_hostname(text);
  auto canonical = net::canonical_hostname(text);
  if (valid) FUZZ_CHECK(canonical.has_value());
  if (canonical) {
    FUZZ_CHECK(net::is_valid_hostname(*canonical));
    FUZZ_CHECK(net::canonical_hostname(*canonical) == canonical);
  }
  if (auto a = net::parse_authority(text)) {
    if (!a->is_address) FUZZ_CHECK(net::is_valid_hostname(a->host));
    auto again = net::parse_authority(a->to_string());
    FUZZ_CHECK(again && again->host == a->host && again->port == a->port);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  net::DnsQuery q;
  net::DnsParse parsed = net::parse_dns_query(in, q);
  if (parsed == net::DnsParse::Ok) {
    FUZZ_CHECK(q.question.data() >= data && q.question.data() + q.question.size() <= data + size);
    // Presentation form: no upper case; a name that is valid is its own canonical form.
    for (char c : q.name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    if (net::is_valid_hostname(q.name)) FUZZ_CHECK(net::canonical_hostname(q.name) == q.name);
    check_response(q, net::build_dns_response(q, net::DnsRcode::NoError, net::Ipv4{0xc6120001}, 5), false);
    check_names(q.name);
  }

  // A tiny pool (a /30) so that exhaustion is reachable; one name is there already.
  auto names = std::make_shared<net::NameMap>(net::Cidr{net::Ipv4{0xc6120000}, 30});
  (void)names->address_for("already.test");
  bool asked = false;
  net::DnsResponder responder(
      names,
      [&](std::string_view name) {
        asked = true;
        return name.size() % 2 == 0 || name.ends_with(".allowed.test");
      },
      5);
  auto response = responder.answer(in);
  if (parsed == net::DnsParse::NotAQuery) FUZZ_CHECK(!response);
  if (response) {
    check_response(q, *response, parsed != net::DnsParse::Ok);
    uint16_t ancount = net::load_be16(response->data() + 6);
    if (ancount) {
      FUZZ_CHECK(parsed == net::DnsParse::Ok && asked && net::is_valid_hostname(q.name));
      uint32_t addr = net::load_be32(response->data() + response->size() - 4);
      auto back = names->name_for(net::Ipv4{addr});
      FUZZ_CHECK(back && *back == q.name);
    }
  }
  // The same bytes as a host name, a Host header value or an authority.
  check_names(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
