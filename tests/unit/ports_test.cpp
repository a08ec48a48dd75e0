// Forwarded ports without a VM: `matchlock port` specs, the guest listener table that
// ports = "auto" reads (hostile text from the guest), and the supervisor's PortForwarder
// relaying through a real protocol Client/Server pair (tests/unit/protocol_harness.hpp:
// the "guest" is this process) to a real TCP server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <string>

#include "engine/port_watch.hpp"
#include "engine/sandbox_ports.hpp"
#include "engine/supervisor_ports.hpp"
#include "protocol_harness.hpp"

using namespace std::string_literals;

namespace {

// A one-connection-at-a-time echo server on 127.0.0.1 (an ephemeral port).
struct EchoServer {
  util::Fd fd;
  uint16_t port = 0;
  std::thread thread;
  EchoServer() {
    fd = util::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd.get(), 8) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread = std::thread([this] {
      for (;;) {
        int c = ::accept4(fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        char buf[4096];
        ssize_t n;
        while ((n = ::read(c, buf, sizeof buf)) > 0) (void)!::write(c, buf, static_cast<size_t>(n));
        ::close(c);
      }
    });
  }
  ~EchoServer() {
    ::shutdown(fd.get(), SHUT_RDWR);
    thread.join();
  }
};

// Connects to 127.0.0.1:PORT, sends TEXT, half-closes and returns what came back; "refused" when nothing listens.
std::string exchange(uint16_t port, const std::string& text) {
  util::Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "refused";
  (void)!::write(s.get(), text.data(), text.size());
  ::shutdown(s.get(), SHUT_WR);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(s.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

}  // namespace

TEST_CASE("port spec: GUEST[:HOST], HOST defaults to GUEST, 0 = any free port") {
  auto s = engine::parse_port_spec("8080");
  REQUIRE(s);
  CHECK(s->guest == 8080);
  CHECK(s->host == 8080);
  s = engine::parse_port_spec("8080:18080");
  REQUIRE(s);
  CHECK(s->host == 18080);
  s = engine::parse_port_spec("8080:0");
  REQUIRE(s);
  CHECK(s->host == 0);
  for (const char* bad : {"", "0", "0:80", "65536", "80:65536", "80:", ":80", "80:x", "-1", "80:80:80", "+80", " 80"}) {
    INFO(bad);
    CHECK_FALSE(engine::parse_port_spec(bad));
  }
  CHECK(engine::looks_like_port_spec("8080:1"));
  CHECK_FALSE(engine::looks_like_port_spec("myproj"));
  CHECK_FALSE(engine::looks_like_port_spec("proj-8080"));
}

TEST_CASE("ports = auto: guest listeners on 127.0.0.1/0.0.0.0 >= 1024 from a hostile /proc/net/tcp") {
  std::string text =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n"  // 127.0.0.1:8080
      "   1: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1\n"  // 0.0.0.0:3000
      "   2: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1\n"  // :22 < 1024
      "   3: 027FA8C0:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1\n"  // 192.168.127.2 only
      "   4: 0100007F:1F91 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 5 1\n"  // ESTABLISHED
      "   5: 0100007F:1FFFF 00000000:0000 0A\n"  // 5 hex digits
      "   6: 0100007F:ZZZZ 00000000:0000 0A\n"
      "   7: 100007F:1F92 00000000:0000 0A\n"
      "garbage\n\n"s +
      std::string(1, '\0') +
      "\x1b[2J\n"
      "   8: 0100007F:1F90 00000000:0000 0A\n"  // a duplicate
      // tcp6 lines: :: (dual-stack) 4000, ::ffff:127.0.0.1 4001, ::1 4002 (unreachable from 127.0.0.1), fe80:: 4003
      "   0: 00000000000000000000000000000000:0FA0 00000000000000000000000000000000:0000 0A 0\n"
      "   1: 0000000000000000FFFF00000100007F:0FA1 00000000000000000000000000000000:0000 0A 0\n"
      "   2: 00000000000000000000000001000000:0FA2 00000000000000000000000000000000:0000 0A 0\n"
      "   3: 000080FE000000000000000000000000:0FA3 00000000000000000000000000000000:0000 0A 0\n"
      "   4: 0000000000000000FFFF0000GGGGGGGG:0FA4 00000000000000000000000000000000:0000 0A 0\n"
      "   5: 000000000000000000000000000000000:0FA5 0 0A 0\n";  // 33 digits
  CHECK(engine::auto_port_candidates(text) == std::set<uint16_t>{3000, 4000, 4001, 8080});
  CHECK(engine::auto_port_candidates("").empty());
  CHECK(engine::auto_port_candidates("no header only").empty());
  // A guest listing thousands of listeners gets at most the forward cap.
  std::string many = "header\n";
  char line[128];
  for (int p = 2000; p < 12000; ++p) {
    std::snprintf(line, sizeof line, "   0: 00000000:%04X 00000000:0000 0A\n", p);
    many += line;
  }
  CHECK(engine::auto_port_candidates(many).size() == engine::k_max_port_forwards);
}

TEST_CASE("port forwarder: added while running, relayed, listed, removed at once, capped") {
  protocol_test::Harness h;
  EchoServer guest_server;  // stands for the guest's 127.0.0.1:GUEST (the harness's "guest" is this process)
  auto fwd = engine::PortForwarder::bind({});
  REQUIRE(fwd);
  (*fwd)->start(*h.client);
  auto added = (*fwd)->add(0, guest_server.port, engine::PortOrigin::Cli);
  REQUIRE(added);
  CHECK(added->host != 0);
  CHECK(added->guest == guest_server.port);
  CHECK(exchange(added->host, "through the forward") == "through the forward");
  auto list = (*fwd)->list();
  REQUIRE(list.size() == 1);
  CHECK(list[0].origin == engine::PortOrigin::Cli);

  auto twice = (*fwd)->add(added->host, 9, engine::PortOrigin::Cli);
  REQUIRE_FALSE(twice);
  CHECK(twice.error().message().find("already forwards") != std::string::npos);

  auto removed = (*fwd)->remove(guest_server.port, 0);
  REQUIRE(removed);
  CHECK(removed->size() == 1);
  CHECK(exchange(added->host, "x") == "refused");  // closed when remove() returned
  auto again = (*fwd)->remove(guest_server.port, 0);
  REQUIRE_FALSE(again);
  CHECK(again.error().code() == util::ErrorCode::NotFound);
  // The same host port can be forwarded again right away.
  auto readded = (*fwd)->add(added->host, guest_server.port, engine::PortOrigin::Cli);
  REQUIRE(readded);
  CHECK(exchange(added->host, "again") == "again");

  for (size_t i = (*fwd)->list().size(); i < engine::k_max_port_forwards; ++i)
    REQUIRE((*fwd)->add(0, 9, engine::PortOrigin::Auto));
  auto over = (*fwd)->add(0, 9, engine::PortOrigin::Auto);
  REQUIRE_FALSE(over);
  CHECK(over.error().message().find("at most 64") != std::string::npos);
}
