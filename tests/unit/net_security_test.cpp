// Hostile input at the network entry points, decided without sockets (issue 12 §1):
// host-name validity at every place a name enters (DNS, policy, resolver, Host, URIs),
// the per-request decision (fronting, duplicate Host, absolute-form, framing before any
// rewrite, injection only toward a bound authority, never into routing headers), the
// scrubbing of real values, and the keep-alive head reader. Each case names the attack.
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "net/dns_message.hpp"
#include "net/audit.hpp"
#include "net/dns_responder.hpp"
#include "net/hostname.hpp"
#include "net/http_request_check.hpp"
#include "net/policy.hpp"
#include "net/proxy_stream.hpp"
#include "net/resolve_upstream.hpp"
#include "net/secrets.hpp"
#include "net/tls_sni.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

using namespace std::string_literals;

namespace {

std::vector<net::Rule> rules(std::initializer_list<const char*> texts) {
  std::vector<net::Rule> out;
  for (const char* t : texts) out.push_back(net::parse_rule(t).value());
  return out;
}

// The shipped example's shape: a wildcard allow, a deny, a secret bound to one host.
net::Policy example_policy() {
  net::Policy p(rules({"*.allowed.test", "allowed.test", "other.test", "127.0.0.0/8:9"}), rules({"deny.allowed.test"}),
                net::BlockPrivate::Yes);
  p.add_secret_hosts("TOKEN", rules({"secret.test"}));
  return p;
}

// A DNS query for the wire-format name LABELS (each label's raw bytes).
std::vector<uint8_t> dns_query(const std::vector<std::string>& labels, uint16_t qtype = net::dns_type::k_a) {
  std::vector<uint8_t> m = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  for (const auto& l : labels) {
    m.push_back(static_cast<uint8_t>(l.size()));
    m.insert(m.end(), l.begin(), l.end());
  }
  m.push_back(0);
  m.insert(m.end(), {static_cast<uint8_t>(qtype >> 8), static_cast<uint8_t>(qtype), 0, 1});
  return m;
}

uint8_t rcode(const std::vector<uint8_t>& response) { return response[3] & 0x0f; }

}  // namespace

TEST_CASE("hostname: one validity rule (LDH labels, 63/253, last label starts with a letter)") {
  struct Case {
    std::string name;
    bool valid;
  };
  const Case cases[] = {
      {"example.com", true},
      {"a-b.example.com", true},
      {"xn--bcher-kva.example", true},  // IDNA only as an A-label
      {"localhost", true},
      {"r3---sn-abc.googlevideo.com", true},
      {std::string(63, 'a') + ".com", true},
      {std::string(64, 'a') + ".com", false},  // RFC 1035: label <= 63
      {"", false},
      {"evil.test\0.allowed.test"s, false},  // NUL: getaddrinfo would stop there
      {"127.0.0.1\0.allowed.test"s, false},
      {"a..b", false},  // empty label
      {".example.com", false},
      {"-a.example.com", false},
      {"a-.example.com", false},
      {"under_score.example.com", false},  // not LDH
      {"sp ace.example.com", false},
      {"evil.test\n.allowed.test", false},
      {"esc\x1b[31m.allowed.test", false},
      {"b\xc3\xbc"
       "cher.example",
       false},  // a U-label: non-ASCII
      {"per%cent.example", false},
      {"back\\slash.example", false},
      {"1.2.3.4", false},     // an address is not a host name
      {"0x7f.1", false},      // inet_aton: 127.0.0.1
      {"2130706433", false},  // inet_aton: 127.0.0.1
      {"evil.0x7f", false},   // the last label must start with a letter
      {"example.123", false},
  };
  for (const auto& c : cases) {
    INFO("name: " << c.name);
    CHECK(net::is_valid_hostname(c.name) == c.valid);
  }
  std::string long_name;
  while (long_name.size() < 250) long_name += "abcdefghi.";
  long_name += "com";  // 253: the limit
  CHECK(net::is_valid_hostname(long_name));
  CHECK_FALSE(net::is_valid_hostname(long_name + "m"));
  CHECK(net::canonical_hostname("API.Example.COM.") == "api.example.com");
  CHECK_FALSE(net::canonical_hostname("a.example.com.."));
}

TEST_CASE("hostname: authorities of Host headers and URIs") {
  CHECK(net::parse_authority("Allowed.Test:8080")->to_string() == "allowed.test:8080");
  CHECK(net::parse_authority("allowed.test")->port == 0);
  CHECK(net::parse_authority("10.0.0.1:80")->is_address);
  for (std::string bad : std::initializer_list<std::string>{
           "", ":80", "a.test:", "a.test:0", "a.test:65536", "a.test:+80", "a.test:080000", "user@a.test", "[::1]:80",
           "a.test\0.b.test"s, "010.0.0.1", "a.test:80:80", "a test"}) {
    INFO("authority: " << bad);
    CHECK_FALSE(net::parse_authority(bad));
  }
}

TEST_CASE("dns: names with NUL, '.', '_' or control bytes inside a label get NXDOMAIN, never an address") {
  auto names = std::make_shared<net::NameMap>();
  net::Policy policy = example_policy();
  std::vector<std::string> filtered;
  net::DnsResponder dns(
      names,
      [&](std::string_view n) {
        filtered.emplace_back(n);
        return policy.decide_dns(n).allowed();
      },
      5);
  // The attack: evil.test\0 as one label under the allowed wildcard domain.
  auto nul = dns.answer(dns_query({"evil"s, "test\0"s, "allowed"s, "test"s}));
  REQUIRE(nul);
  CHECK(rcode(*nul) == 3);
  CHECK(filtered.back() == "evil.test\\000.allowed.test");                         // audited in presentation form
  CHECK(rcode(*dns.answer(dns_query({"evil.test"s, "allowed"s, "test"s}))) == 3);  // a '.' inside a label
  CHECK(filtered.back() == "evil\\046test.allowed.test");
  CHECK(rcode(*dns.answer(dns_query({"evil\ntest"s, "allowed"s, "test"s}))) == 3);
  CHECK(rcode(*dns.answer(dns_query({"a_b"s, "allowed"s, "test"s}))) == 3);
  CHECK(rcode(*dns.answer(dns_query({"\x1b[2J"s, "allowed"s, "test"s}))) == 3);
  CHECK(rcode(*dns.answer(dns_query({"2130706433"s}))) == 3);
  auto ok = dns.answer(dns_query({"x"s, "allowed"s, "test"s}));
  CHECK(rcode(*ok) == 0);
  CHECK(ok->size() > dns_query({"x"s, "allowed"s, "test"s}).size());  // an A record
  CHECK_FALSE(names->name_for(net::Ipv4{0xc6120002}));                // nothing else was mapped
  CHECK_FALSE(names->address_for("evil.test\0.allowed.test"s));
}

TEST_CASE("policy: an invalid name never matches a rule (allow or deny) and never reaches the resolver") {
  net::Policy p = example_policy();
  for (std::string name :
       std::initializer_list<std::string>{"evil.test\0.allowed.test"s, "127.0.0.1\0.allowed.test"s,
                                          "deny.allowed.test\0"s, "evil\\000.allowed.test", "x_y.allowed.test"}) {
    INFO("name: " << name);
    CHECK_FALSE(p.decide_name(name, 443).allowed());
    CHECK_FALSE(p.decide_dns(name).allowed());
    CHECK(p.decide_name(name, 443).reason.find(name) == std::string::npos);  // the reason never echoes it
    auto r = net::resolve_upstream(name, net::BlockPrivate::No);
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == util::ErrorCode::Denied);
  }
  CHECK(p.decide_name("X.Allowed.Test.", 443).allowed());  // canonical form
  CHECK_FALSE(p.decide_name("deny.allowed.test.", 443).allowed());
}

namespace {

struct Fixture {
  std::string ph_token = net::generate_placeholder().value();
  std::string ph_other = net::generate_placeholder().value();
  std::string real = "real-token-0123456789abcdef";
  net::Policy policy = example_policy();
  net::SecretTable secrets;
  Fixture() {
    secrets.add({"TOKEN", ph_token, real, rules({"secret.test"}), {}});
    secrets.add({"OTHER", ph_other, "other-real-value-42", rules({"other.test"}), {}});
  }
  net::RequestVerdict check(const std::string& head, std::string_view conn = "secret.test",
                            net::Transport t = net::Transport::Tls, uint16_t port = 443) {
    auto req = net::parse_request_head(head);
    REQUIRE(req);
    m_last = std::move(*req);
    return net::check_request(m_last, {conn, port, t}, policy, &secrets);
  }
  const net::HttpHead& last() const { return m_last; }

 private:
  net::HttpHead m_last;
};

}  // namespace

TEST_CASE("request: a secret value is never echoed (framing checked before any rewrite, no header values in reasons)") {
  Fixture f;
  // The attack: the placeholder as Content-Length, to read the real value back from the 400.
  for (const char* hdr : {"Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "TE", "Trailer", "Keep-Alive",
                          "Proxy-Authorization", "Proxy-Foo"}) {
    INFO("header: " << hdr);
    auto v = f.check("POST / HTTP/1.1\r\nHost: secret.test\r\n"s + hdr + ": " + f.ph_token + "\r\n\r\n");
    CHECK(v.refused());
    for (const auto& text : {v.reason, v.body}) {
      CHECK(text.find(f.real) == std::string::npos);
      CHECK(text.find(f.ph_token) == std::string::npos);
    }
  }
  auto host = f.check("GET / HTTP/1.1\r\nHost: " + f.ph_token + "\r\n\r\n");
  CHECK(host.status == 400);
  CHECK(host.reason.find(f.ph_token) == std::string::npos);
  // Garbage in a framing header never appears in the reason either.
  auto cl = f.check("POST / HTTP/1.1\r\nHost: secret.test\r\nContent-Length: 12abc\r\n\r\n");
  CHECK(cl.status == 400);
  CHECK(cl.reason.find("12abc") == std::string::npos);
}

TEST_CASE("request: injection only when the request's authority is one of the secret's hosts") {
  Fixture f;
  auto ok = f.check("GET /x HTTP/1.1\r\nHost: secret.test\r\nAuthorization: Bearer " + f.ph_token + "\r\n\r\n");
  CHECK_FALSE(ok.refused());
  CHECK(ok.injected == std::vector<std::string>{"TOKEN"});
  CHECK(f.last().headers[1].value == "Bearer " + f.real);
  // The attack: the bound host's connection, another (allowed) host's name in Host.
  auto other = f.check("GET /x HTTP/1.1\r\nHost: other.test\r\nAuthorization: Bearer " + f.ph_token + "\r\n\r\n");
  CHECK(other.status == 403);
  CHECK(other.reason.find("not bound") != std::string::npos);
  CHECK(f.last().headers[1].value.find(f.real) == std::string::npos);
  // ... or in an absolute-form target (with a matching Host: refused by the secret check).
  auto abs = f.check("GET https://other.test/x HTTP/1.1\r\nHost: other.test\r\nX-K: " + f.ph_token + "\r\n\r\n");
  CHECK(abs.status == 403);
  // The other way round: the secret's authority on another host's connection.
  auto conn = f.check("GET /x HTTP/1.1\r\nHost: secret.test\r\nX-K: " + f.ph_token + "\r\n\r\n", "other.test");
  CHECK(conn.status == 403);
  // A port the rule does not name.
  net::SecretTable port_bound;
  port_bound.add({"P", f.ph_token, f.real, rules({"secret.test:443"}), {}});
  auto req =
      net::parse_request_head("GET / HTTP/1.1\r\nHost: secret.test:8443\r\nX: " + f.ph_token + "\r\n\r\n").value();
  CHECK(net::check_request(req, {"secret.test", 443, net::Transport::Tls}, f.policy, &port_bound).status == 403);
}

TEST_CASE("request: Host, absolute-form and method checks (fronting, duplicates, any token method)") {
  Fixture f;
  struct Case {
    std::string head;
    int status;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: x.allowed.test\r\n\r\n", 0},
      {"GET / HTTP/1.1\r\nHost: evil.test\r\n\r\n", 403},                          // fronting
      {"GET / HTTP/1.1\r\nHost: x.allowed.test\r\nHost: evil.test\r\n\r\n", 400},  // duplicate Host
      {"GET / HTTP/1.1\r\nhost: x.allowed.test\r\nHOST: x.allowed.test\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n\r\n", 400},                                    // no Host
      {"GET / HTTP/1.1\r\nHost: evil.test\0.allowed.test\r\n\r\n"s, -1},  // parser: NUL
      {"GET / HTTP/1.1\r\nHost: x.allowed.test:0\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: u@x.allowed.test\r\n\r\n", 400},
      {"GET http://evil.test/ HTTP/1.1\r\nHost: x.allowed.test\r\n\r\n", 400},  // absolute-form mismatch
      {"GET http://x.allowed.test:8080/ HTTP/1.1\r\nHost: x.allowed.test\r\n\r\n", 400},
      {"GET http://x.allowed.test/ HTTP/1.1\r\nHost: x.allowed.test\r\n\r\n", 0},
      {"GET http://X.ALLOWED.TEST:80/p?q HTTP/1.1\r\nHost: x.allowed.test\r\n\r\n", 0},
      {"GET http://u@x.allowed.test/ HTTP/1.1\r\nHost: x.allowed.test\r\n\r\n", 400},
      {"GET ftp://x.allowed.test/ HTTP/1.1\r\nHost: x.allowed.test\r\n\r\n", 400},
      {"GET x.allowed.test/ HTTP/1.1\r\nHost: x.allowed.test\r\n\r\n", 400},
      {"OPTIONS * HTTP/1.1\r\nHost: x.allowed.test\r\n\r\n", 0},
      {"GET * HTTP/1.1\r\nHost: x.allowed.test\r\n\r\n", 400},
      {"PROPFIND / HTTP/1.1\r\nHost: evil.test\r\n\r\n", 403},  // any token method is HTTP: checked
      {"PROPFIND / HTTP/1.1\r\nHost: x.allowed.test\r\n\r\n", 0},
      {"CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n", 405},
      {"POST / HTTP/1.1\r\nHost: x.allowed.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x.allowed.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x.allowed.test\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
       400},
      {"POST / HTTP/1.0\r\nHost: x.allowed.test\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x.allowed.test\r\nContent-Length: -1\r\n\r\n", 400},
      {"POST / HTTP/1.1\r\nHost: x.allowed.test\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x.allowed.test\r\nX: a\x1b[2Jb\r\n\r\n", -1},  // control bytes
      {"GET / HTTP/1.1\r\nHost: x.allowed.test\r\nX: a\r\n folded\r\n\r\n", -1},
      {"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", -1},  // HTTP/2 prior knowledge
  };
  for (const auto& c : cases) {
    INFO("head: " << c.head);
    auto req = net::parse_request_head(c.head);
    if (c.status < 0) {
      CHECK_FALSE(req);
      continue;
    }
    REQUIRE(req);
    auto v = net::check_request(*req, {"x.allowed.test", 80, net::Transport::PlainHttp}, f.policy, &f.secrets);
    CHECK(v.status == c.status);
  }
}

TEST_CASE("request: placeholders over plain HTTP, in the path, method and header names are refused") {
  Fixture f;
  CHECK(f.check("GET / HTTP/1.1\r\nHost: x.allowed.test\r\nX: " + f.ph_token + "\r\n\r\n", "x.allowed.test",
                net::Transport::PlainHttp, 80)
            .status == 403);
  CHECK(f.check("GET /" + f.ph_token + " HTTP/1.1\r\nHost: secret.test\r\n\r\n").status == 403);
  CHECK(f.check(f.ph_token + " / HTTP/1.1\r\nHost: secret.test\r\n\r\n").status == 403);
  CHECK(f.check("GET / HTTP/1.1\r\nHost: secret.test\r\n" + f.ph_token + ": x\r\n\r\n").status == 403);
  // Cookies are headers: injected toward the bound host only.
  auto cookie = f.check("GET / HTTP/1.1\r\nHost: secret.test\r\nCookie: s=" + f.ph_token + "\r\n\r\n");
  CHECK_FALSE(cookie.refused());
  CHECK(f.last().headers[1].value == "s=" + f.real);
}

TEST_CASE("secrets: scrub replaces every real value in text the proxy writes") {
  Fixture f;
  std::string text = "reason: Content-Length " + f.real + " and again " + f.real + " end";
  f.secrets.scrub(text);
  CHECK(text == "reason: Content-Length [secret TOKEN] and again [secret TOKEN] end");
  net::SecretTable tiny;
  tiny.add({"T", f.ph_token, "ab", {}, {}});
  std::string plain = "a table";
  tiny.scrub(plain);
  CHECK(plain == "a table");
}

TEST_CASE("http sniff: any token method is a request line, non-HTTP is not") {
  CHECK(net::looks_like_http_request("PROPFIND /x HTTP/1.1\r\n") == net::Sniff::Yes);
  CHECK(net::looks_like_http_request("get / HTTP/1.1\r\n") == net::Sniff::Yes);
  CHECK(net::looks_like_http_request("PRI * HTTP/2.0\r\n") == net::Sniff::Yes);  // then refused by the parser
  CHECK(net::looks_like_http_request("M-SEARCH * HTTP/1.1\n") == net::Sniff::Yes);
  CHECK(net::looks_like_http_request("PROPF") == net::Sniff::NeedMore);
  CHECK(net::looks_like_http_request("GET /x") == net::Sniff::NeedMore);
  CHECK(net::looks_like_http_request("\r\nGET / HTTP/1.1\r\n") == net::Sniff::No);
  CHECK(net::looks_like_http_request("SSH-2.0-OpenSSH\r\n") == net::Sniff::No);
  CHECK(net::looks_like_http_request("GET / FOO\r\n") == net::Sniff::No);
  CHECK(net::looks_like_http_request(std::string(100, 'A')) == net::Sniff::No);
}

TEST_CASE("keep-alive: heads of equal length arriving one by one are all read (the 200 200 000 bug)") {
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  util::Fd a(sv[0]), b(sv[1]);
  net::FdStream stream(a.get(), {});
  net::BufferedReader reader(stream);
  for (const char* path : {"/a", "/b", "/c", "/d"}) {
    std::string req = "GET "s + path + " HTTP/1.1\r\nHost: plain.test\r\n\r\n";
    REQUIRE(util::write_all(b.get(), req));
    auto head = reader.read_head(net::k_max_head_bytes);
    REQUIRE(head);
    REQUIRE(*head);
    CHECK(**head == req);
  }
  // Pipelined, then split across writes in the middle of the terminator.
  REQUIRE(util::write_all(b.get(), "GET /1 HTTP/1.1\r\nHost: p\r\n\r\nGET /2 HTTP/1.1\r\nHost: p\r\n\r"));
  CHECK(reader.read_head(net::k_max_head_bytes).value()->starts_with("GET /1"));
  REQUIRE(util::write_all(b.get(), "\n"));
  CHECK(reader.read_head(net::k_max_head_bytes).value()->starts_with("GET /2"));
}

namespace {

// A minimal ClientHello record with EXTENSIONS (each: type, body bytes).
std::string hello_with(const std::vector<std::pair<uint16_t, std::string>>& extensions, std::string trailing = "") {
  auto be16 = [](size_t v) { return std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; };
  std::string exts;
  for (const auto& [type, body] : extensions) exts += be16(type) + be16(body.size()) + body;
  std::string body = be16(0x0303) + std::string(32, 'r') + std::string(1, '\0') + be16(2) + be16(0x002f) +
                     std::string("\x01\x00", 2) + be16(exts.size()) + exts + trailing;
  std::string hs = std::string(1, '\x01') + std::string(1, '\0') + be16(body.size()) + body;
  return std::string("\x16\x03\x01", 3) + be16(hs.size()) + hs;
}

std::string sni_body(const std::vector<std::string>& names) {
  std::string list;
  for (const auto& n : names)
    list += std::string(1, '\0') + std::string{static_cast<char>(n.size() >> 8), static_cast<char>(n.size())} + n;
  return std::string{static_cast<char>(list.size() >> 8), static_cast<char>(list.size())} + list;
}

net::ClientHello parse_hello(const std::string& bytes) {
  return net::parse_client_hello(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace

TEST_CASE("sni: a hello an upstream could read differently is malformed, ECH is flagged") {
  auto ok = parse_hello(hello_with({{0, sni_body({"allowed.test"})}}));
  CHECK(ok.status == net::HelloStatus::Complete);
  CHECK(ok.server_name == "allowed.test");
  CHECK_FALSE(ok.encrypted_hello);
  // Two SNI extensions: we would check the first, a server might route by the second.
  CHECK(parse_hello(hello_with({{0, sni_body({"allowed.test"})}, {0, sni_body({"evil.test"})}})).status ==
        net::HelloStatus::Malformed);
  CHECK(parse_hello(hello_with({{0, sni_body({"allowed.test", "evil.test"})}})).status == net::HelloStatus::Malformed);
  CHECK(parse_hello(hello_with({{0, sni_body({""})}})).status == net::HelloStatus::Malformed);
  CHECK(parse_hello(hello_with({{16, "\x00\x03\x02h2"}, {16, "\x00\x03\x02h2"}})).status ==
        net::HelloStatus::Malformed);
  CHECK(parse_hello(hello_with({{0, sni_body({"allowed.test"})}}, "junk")).status == net::HelloStatus::Malformed);
  CHECK(parse_hello(hello_with({{0, sni_body({"allowed.test"}) + "x"}})).status == net::HelloStatus::Malformed);
  // Encrypted ClientHello: the outer name is all we could check.
  CHECK(parse_hello(hello_with({{0, sni_body({"cover.allowed.test"})}, {0xfe0d, "opaque"}})).encrypted_hello);
  CHECK(parse_hello(hello_with({{0xffce, "esni"}})).encrypted_hello);
}

TEST_CASE("audit: the guest cannot grow the log without bound (one limit record, then drops)") {
  auto dir = util::TempDir::create(std::filesystem::temp_directory_path(), "ml-audit-").value();
  auto path = dir.path() / "audit.jsonl";
  auto audit = net::Audit::open(path, 4096).value();
  for (int i = 0; i < 1000; ++i) {  // a DNS flood of denied names
    net::AuditEvent e;
    e.kind = net::AuditKind::Dns;
    e.name = "flood-" + std::to_string(i) + ".denied.test";
    audit.record(e);
  }
  CHECK(audit.dropped() > 900);
  auto text = util::read_file(path).value();
  CHECK(text.size() < 4096 + 512);
  auto last = text.substr(text.rfind('\n', text.size() - 2) + 1);
  auto limit = net::parse_audit_line(last);
  REQUIRE(limit);
  CHECK(limit->kind == net::AuditKind::Limit);
  // Reopened (a restarted supervisor), the existing size counts.
  auto again = net::Audit::open(path, 4096).value();
  net::AuditEvent e;
  again.record(e);
  CHECK(again.dropped() == 1);
}

TEST_CASE("request: an h2c upgrade offer is dropped (h2 frames would carry unchecked authorities)") {
  Fixture f;
  auto v = f.check(
      "GET / HTTP/1.1\r\nHost: x.allowed.test\r\nConnection: Upgrade, HTTP2-Settings, keep-alive\r\n"
      "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
      "x.allowed.test", net::Transport::PlainHttp, 80);
  CHECK_FALSE(v.refused());
  CHECK_FALSE(f.last().header("upgrade"));
  CHECK_FALSE(f.last().header("http2-settings"));
  CHECK(f.last().header("connection") == "keep-alive");
  auto ws = f.check("GET / HTTP/1.1\r\nHost: x.allowed.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
                    "x.allowed.test", net::Transport::PlainHttp, 80);
  CHECK(f.last().header("upgrade") == "websocket");  // WebSocket stays
}

namespace {

// A Stream over a string (input) that collects what is written.
class StringStream : public net::Stream {
 public:
  explicit StringStream(std::string in) : m_in(std::move(in)) {}
  util::Result<size_t> read(std::span<char> buf) override {
    size_t n = std::min(buf.size(), m_in.size() - m_pos);
    std::copy_n(m_in.data() + m_pos, n, buf.data());
    m_pos += n;
    return n;
  }
  util::Result<void> write(std::string_view data) override {
    out.append(data);
    return util::ok();
  }
  void shutdown_write() override {}
  int fd() const override { return -1; }
  bool has_buffered() const override { return m_pos < m_in.size(); }
  std::string out;

 private:
  std::string m_in;
  size_t m_pos = 0;
};

// What the upstream receives for a chunked request body (nullopt: refused).
std::optional<std::string> canonical_body(const std::string& body) {
  StringStream in(body), out("");
  net::BufferedReader reader(in);
  uint64_t counted = 0;
  auto r = reader.copy_chunked(out, counted, net::BufferedReader::Chunked::Canonical);
  if (!r) return std::nullopt;
  return out.out;
}

}  // namespace

TEST_CASE("request bodies: chunked re-emitted canonically, so no request hides where the upstream frames otherwise") {
  CHECK(canonical_body("5\r\nhello\r\n0\r\n\r\n") == "5\r\nhello\r\n0\r\n\r\n");
  CHECK(canonical_body("5;ext=1;x\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: a\r\n\r\n") ==
        "5\r\nhello\r\na\r\n0123456789\r\n0\r\n\r\n");  // extensions and trailers dropped
  // Bare LF, spaces, a trailer that is not a field, a missing CRLF after data: refused.
  CHECK_FALSE(canonical_body("5\nhello\r\n0\r\n\r\n"));
  CHECK_FALSE(canonical_body("5 \r\nhello\r\n0\r\n\r\n"));
  CHECK_FALSE(canonical_body("5\r\nhello\n0\r\n\r\n"));
  CHECK_FALSE(canonical_body("5\r\nhelloX\r\n0\r\n\r\n"));
  CHECK_FALSE(canonical_body("0\r\nGET /smuggled HTTP/1.1\r\n\r\n"));
  CHECK_FALSE(canonical_body("0\r\nHost evil\r\n\r\n"));
  CHECK_FALSE(canonical_body("1000000000000000\r\n"));  // 16 hex digits
  CHECK_FALSE(canonical_body("-1\r\n"));
  // Verbatim (responses) still takes what it always took.
  StringStream in("5\nhello\n0\n\n"), out("");
  net::BufferedReader reader(in);
  uint64_t counted = 0;
  CHECK(reader.copy_chunked(out, counted));
  CHECK(out.out == "5\nhello\n0\n\n");
}
