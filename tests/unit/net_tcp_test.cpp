// TcpConn driven directly: handshake options, in-order and out-of-order delivery, windows,
// retransmission (timeout and three duplicate ACKs), persist probes, FIN and RST both ways.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "net/tcp_conn.hpp"

using namespace net;
using namespace std::chrono_literals;

namespace {

struct Sent {
  TcpHeaderOut h;
  std::string payload;
};

class FakeHost : public TcpHost {
 public:
  void send_segment(const TcpConn&, const TcpHeaderOut& h, std::span<const uint8_t> a,
                    std::span<const uint8_t> b) override {
    std::string p(a.begin(), a.end());
    p.append(b.begin(), b.end());
    sent.push_back({h, p});
  }
  void count_retransmit() override { ++retransmits; }
  std::vector<Sent> sent;
  int retransmits = 0;
};

constexpr uint32_t k_guest_isn = 5000;
constexpr uint32_t k_iss = 100;

struct Harness {
  FakeHost host;
  TimePoint now = Clock::now();
  std::unique_ptr<TcpConn> conn;
  util::Fd peer;  // the FlowHandler's end

  explicit Harness(uint32_t buffer = 65536, uint16_t guest_mss = 1000) {
    TcpSegment syn;
    syn.src_port = 40000;
    syn.dst_port = 443;
    syn.seq = k_guest_isn;
    syn.flags = tcp_flag::k_syn;
    syn.window = 65535;
    syn.mss = guest_mss;
    syn.wscale = 2;
    syn.sack_permitted = true;
    conn = std::make_unique<TcpConn>(host, TcpTuple{Ipv4{1}, 40000, Ipv4{2}, 443}, TcpParams{1500, buffer}, syn,
                                     k_iss, now);
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
    conn->attach(util::Fd(sv[0]));
    peer = util::Fd(sv[1]);
    conn->on_fd_event(EPOLLOUT, now);  // the first edge the stack's edge-triggered epoll reports
    conn->send_syn_ack();
    segment(k_guest_isn + 1, k_iss + 1, tcp_flag::k_ack, "", 16384);  // handshake done
  }
  void segment(uint32_t seq, uint32_t ack, uint8_t flags, const std::string& data, uint16_t window = 16384) {
    TcpSegment s;
    s.seq = seq;
    s.ack = ack;
    s.flags = flags;
    s.window = window;
    s.payload = {reinterpret_cast<const uint8_t*>(data.data()), data.size()};
    conn->on_segment(s, now);
  }
  std::string peer_read() {
    char buf[65536];
    ssize_t n = read(peer.get(), buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }
  void peer_write(const std::string& s) {
    REQUIRE(write(peer.get(), s.data(), s.size()) == static_cast<ssize_t>(s.size()));
    conn->on_fd_event(EPOLLIN, now);
  }
};

}  // namespace

TEST_CASE("tcp conn: SYN-ACK negotiates MSS and window scale") {
  Harness t;
  const Sent& synack = t.host.sent.at(0);
  CHECK(synack.h.flags == (tcp_flag::k_syn | tcp_flag::k_ack));
  CHECK(synack.h.seq == k_iss);
  CHECK(synack.h.ack == k_guest_isn + 1);
  CHECK(synack.h.mss == 1460);
  CHECK(synack.h.wscale.has_value());
  CHECK(synack.h.sack_permitted);
  CHECK(t.conn->state() == TcpState::Established);
}

TEST_CASE("tcp conn: out-of-order data waits for the gap, then both parts are delivered") {
  Harness t;
  t.host.sent.clear();
  t.segment(k_guest_isn + 1 + 5, k_iss + 1, tcp_flag::k_ack, "world");
  CHECK(t.peer_read().empty());
  REQUIRE_FALSE(t.host.sent.empty());  // immediate duplicate ACK, with a SACK block for "world"
  CHECK(t.host.sent.back().h.ack == k_guest_isn + 1);
  REQUIRE(t.host.sent.back().h.sack_count == 1);
  CHECK(t.host.sent.back().h.sack[0][0] == k_guest_isn + 6);
  CHECK(t.host.sent.back().h.sack[0][1] == k_guest_isn + 11);
  t.segment(k_guest_isn + 1, k_iss + 1, tcp_flag::k_ack, "hello");
  CHECK(t.peer_read() == "helloworld");
  CHECK(t.host.sent.back().h.ack == k_guest_isn + 11);
}

TEST_CASE("tcp conn: segments respect MSS and the guest window, zero window is probed") {
  Harness t;
  t.host.sent.clear();
  t.peer_write(std::string(3500, 'x'));
  REQUIRE(t.host.sent.size() == 4);  // MSS 1000 (guest's), window 16384 << 2
  CHECK(t.host.sent[0].payload.size() == 1000);
  CHECK(t.host.sent[3].payload.size() == 500);
  t.host.sent.clear();
  t.segment(k_guest_isn + 1, k_iss + 1 + 3500, tcp_flag::k_ack, "", 0);  // all acked, window closed
  t.peer_write("more");
  CHECK(t.host.sent.empty());
  t.now += 2s;
  t.conn->on_timer(t.now);
  REQUIRE(t.host.sent.size() == 1);  // persist probe: no data, old sequence number
  CHECK(t.host.sent[0].payload.empty());
  t.segment(k_guest_isn + 1, k_iss + 1 + 3500, tcp_flag::k_ack, "", 100);  // window opens
  CHECK(t.host.sent.back().payload == "more");
}

TEST_CASE("tcp conn: retransmission on timeout and on three duplicate ACKs") {
  Harness t;
  t.host.sent.clear();
  t.peer_write(std::string(5000, 'y'));
  REQUIRE(t.host.sent.size() == 5);
  uint32_t first = t.host.sent[0].h.seq;
  t.host.sent.clear();
  for (int i = 0; i < 3; ++i) t.segment(k_guest_isn + 1, first, tcp_flag::k_ack, "", 16384);
  REQUIRE(t.host.sent.size() == 1);
  CHECK(t.host.sent[0].h.seq == first);  // fast retransmit of the hole
  t.host.sent.clear();
  t.now += 5s;
  t.conn->on_timer(t.now);
  REQUIRE_FALSE(t.host.sent.empty());
  CHECK(t.host.sent[0].h.seq == first);  // go-back-N from the first unacknowledged byte
  CHECK(t.host.retransmits >= 2);
}

TEST_CASE("tcp conn: FIN both ways maps to half-close") {
  Harness t;
  t.segment(k_guest_isn + 1, k_iss + 1, tcp_flag::k_ack | tcp_flag::k_fin, "bye");
  CHECK(t.peer_read() == "bye");
  CHECK(t.peer_read().empty());  // EOF after the data
  CHECK(t.conn->state() == TcpState::CloseWait);
  t.host.sent.clear();
  ::shutdown(t.peer.get(), SHUT_WR);
  t.conn->on_fd_event(EPOLLIN | EPOLLRDHUP, t.now);
  REQUIRE_FALSE(t.host.sent.empty());
  CHECK(t.host.sent.back().h.flags & tcp_flag::k_fin);
  CHECK(t.conn->state() == TcpState::LastAck);
  t.segment(k_guest_isn + 5, k_iss + 2, tcp_flag::k_ack, "");
  CHECK(t.conn->closed());
}

TEST_CASE("tcp conn: RST both ways") {
  SECTION("guest RST closes our end") {
    Harness t;
    t.segment(k_guest_isn + 1, k_iss + 1, tcp_flag::k_rst, "");
    CHECK(t.conn->closed());
    char c;
    CHECK(read(t.peer.get(), &c, 1) == 0);
  }
  SECTION("owner closes without a byte: refused with RST") {
    Harness t;
    t.host.sent.clear();
    t.peer.reset();
    t.conn->on_fd_event(EPOLLIN | EPOLLHUP, t.now);
    REQUIRE_FALSE(t.host.sent.empty());
    CHECK(t.host.sent.back().h.flags & tcp_flag::k_rst);
    CHECK(t.conn->closed());
  }
  SECTION("owner closes with unread data: RST") {
    Harness t;
    t.segment(k_guest_isn + 1, k_iss + 1, tcp_flag::k_ack, "unread");
    t.peer_write("x");
    t.host.sent.clear();
    t.peer.reset();
    t.conn->on_fd_event(EPOLLIN | EPOLLHUP, t.now);
    REQUIRE_FALSE(t.host.sent.empty());
    CHECK(t.host.sent.back().h.flags & tcp_flag::k_rst);
  }
}
