// SNI sniffing on real ClientHellos (openssl s_client and curl, captured at test time)
// and the per-sandbox CA's certificates.
#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/x509v3.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "net/ca.hpp"
#include "net/tls_sni.hpp"
#include "util/fd.hpp"
#include "util/process.hpp"

namespace {

struct Listener {
  util::Fd fd;
  uint16_t port = 0;
};

Listener listen_loopback() {
  Listener l;
  l.fd = util::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(l.fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(l.fd.get(), 4) == 0);
  socklen_t len = sizeof sa;
  ::getsockname(l.fd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  l.port = ntohs(sa.sin_port);
  return l;
}

// Runs ARGV (a TLS client pointed at our listener) and returns the first bytes it sends,
// read until the ClientHello parses or 5 s pass.
std::string capture_hello(const std::vector<std::string>& argv, Listener& l) {
  util::Fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  util::SpawnOptions opts;
  opts.argv = argv;
  opts.stdin_fd = devnull.get();
  opts.stdout_fd = devnull.get();
  opts.stderr_fd = devnull.get();
  auto child = util::Child::spawn(opts);
  REQUIRE(child);
  pollfd p{l.fd.get(), POLLIN, 0};
  REQUIRE(::poll(&p, 1, 10000) == 1);
  util::Fd conn(::accept4(l.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(conn);
  std::string bytes;
  for (int i = 0; i < 100; ++i) {
    pollfd c{conn.get(), POLLIN, 0};
    if (::poll(&c, 1, 5000) != 1) break;
    char buf[4096];
    auto n = util::read_some(conn.get(), buf);
    if (!n || *n == 0) break;
    bytes.append(buf, *n);
    auto h = net::parse_client_hello(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    if (h.status != net::HelloStatus::NeedMore) break;
  }
  return bytes;  // the Child destructor kills the client
}

net::ClientHello parse(std::string_view bytes) {
  return net::parse_client_hello(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace

TEST_CASE("sni: openssl s_client ClientHello") {
  if (util::find_program("openssl").empty()) FAIL("openssl not installed (scripts/install-deps)");
  Listener l = listen_loopback();
  std::string hello = capture_hello({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(l.port),
                                     "-servername", "API.Example.COM", "-alpn", "http/1.1,h2"},
                                    l);
  auto h = parse(hello);
  REQUIRE(h.status == net::HelloStatus::Complete);
  CHECK(h.server_name == "api.example.com");
  CHECK(h.alpn == std::vector<std::string>{"http/1.1", "h2"});
  // Every strict prefix needs more bytes; it is never misread.
  for (size_t n : {size_t{0}, size_t{1}, size_t{5}, size_t{40}, hello.size() - 1})
    CHECK(parse(std::string_view(hello).substr(0, n)).status == net::HelloStatus::NeedMore);
  // The same hello split into two TLS records still parses.
  size_t body = hello.size() - 5, first = body / 2;
  std::string split = hello.substr(0, 3) + std::string{char(first >> 8), char(first & 0xff)} + hello.substr(5, first);
  split += hello.substr(0, 3) + std::string{char((body - first) >> 8), char((body - first) & 0xff)} +
           hello.substr(5 + first);
  CHECK(parse(split).server_name == "api.example.com");
}

TEST_CASE("sni: every truncation and single-byte corruption of a real hello is handled") {
  if (util::find_program("openssl").empty()) FAIL("openssl not installed (scripts/install-deps)");
  Listener l = listen_loopback();
  std::string hello = capture_hello(
      {"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(l.port), "-servername", "fuzz.example"}, l);
  REQUIRE(parse(hello).status == net::HelloStatus::Complete);
  for (size_t n = 0; n < hello.size(); ++n)
    REQUIRE(parse(std::string_view(hello).substr(0, n)).status == net::HelloStatus::NeedMore);
  size_t complete = 0;
  for (size_t i = 0; i < hello.size(); ++i) {
    for (unsigned char x : {0x01, 0x80, 0xff}) {
      std::string m = hello;
      m[i] = static_cast<char>(m[i] ^ x);
      auto h = parse(m);
      // Whatever it says, a name it reports is bounded by the record and well-formed bytes.
      CHECK(h.server_name.size() < hello.size());
      complete += h.status == net::HelloStatus::Complete;
    }
  }
  CHECK(complete > 0);
}

TEST_CASE("sni: curl ClientHello, and non-TLS bytes") {
  if (util::find_program("curl").empty()) FAIL("curl not installed (scripts/install-deps)");
  Listener l = listen_loopback();
  std::string port = std::to_string(l.port);
  std::string hello = capture_hello({"curl", "-sk", "--max-time", "5", "--resolve", "svc.test:" + port + ":127.0.0.1",
                                     "https://svc.test:" + port + "/"},
                                    l);
  auto h = parse(hello);
  REQUIRE(h.status == net::HelloStatus::Complete);
  CHECK(h.server_name == "svc.test");
  CHECK(parse("GET / HTTP/1.1\r\n").status == net::HelloStatus::NotTls);
  CHECK(parse("SSH-2.0-OpenSSH\r\n").status == net::HelloStatus::NotTls);
  CHECK(parse(std::string("\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00", 10)).status == net::HelloStatus::Malformed);
  CHECK(net::tls_alert_record(net::k_alert_access_denied) == std::string("\x15\x03\x03\x00\x02\x02\x31", 7));
}

TEST_CASE("ca: P-256 CA signs cached leaves that verify for their name only") {
  auto ca = net::SandboxCa::create("demo");
  REQUIRE(ca);
  const std::string& pem = (*ca)->cert_pem();
  CHECK(pem.find("BEGIN CERTIFICATE") != std::string::npos);
  CHECK(pem.find("PRIVATE") == std::string::npos);
  auto leaf = (*ca)->leaf_for("api.example.com");
  REQUIRE(leaf);
  CHECK((*ca)->leaf_for("api.example.com").value().get() == leaf->get());  // cached
  CHECK_FALSE((*ca)->leaf_for("bad,DNS:evil.com"));                        // no SAN injection
  EVP_PKEY* pub = X509_get0_pubkey((*leaf)->cert.get());
  CHECK(EVP_PKEY_is_a(pub, "EC"));
  CHECK(EVP_PKEY_get_bits(pub) == 256);

  auto verify = [&](const char* host) {
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, (*ca)->cert());
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, (*leaf)->cert.get(), nullptr);
    X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host, 0);
    X509_VERIFY_PARAM_set_purpose(X509_STORE_CTX_get0_param(ctx), X509_PURPOSE_SSL_SERVER);
    int ok = X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok == 1;
  };
  CHECK(verify("api.example.com"));
  CHECK_FALSE(verify("other.example.com"));
}
