// TcpConn driven directly: handshake options, in-order and out-of-order delivery, windows,
// retransmission (timeout and three duplicate ACKs), persist probes, FIN and RST both ways.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "net/syn_cookie.hpp"
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
  void send_segment(const TcpConn&, const TcpHeaderOut& h, PayloadParts parts) override {
    std::string p;
    for (auto part : parts) p.append(part.begin(), part.end());
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
  BufferPool pool{16 * 1024 * 1024, 4 * 1024 * 1024};
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
    conn = std::make_unique<TcpConn>(host, pool, TcpTuple{Ipv4{1}, 40000, Ipv4{2}, 443}, TcpParams{1500, buffer}, syn,
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

TEST_CASE("tcp conn: memory follows the data: none idle, in-order data straight through, freed once acked") {
  Harness t;
  CHECK(t.pool.bytes_in_use() == 0);  // a handshake buffers nothing
  t.segment(k_guest_isn + 1, k_iss + 1, tcp_flag::k_ack, "hello");
  CHECK(t.pool.bytes_in_use() == 0);  // the socketpair took it at once
  CHECK(t.peer_read() == "hello");
  // Toward the guest: held until acknowledged, then given back.
  std::string data(40000, 0);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 23);
  t.host.sent.clear();
  t.peer_write(data);
  CHECK(t.pool.bytes_in_use() >= data.size());
  std::string seen;
  for (const auto& s : t.host.sent) seen += s.payload;
  CHECK(seen == data.substr(0, seen.size()));  // segments across block seams carry the right bytes
  t.segment(k_guest_isn + 6, k_iss + 1 + static_cast<uint32_t>(seen.size()), tcp_flag::k_ack, "", 65535);
  while (t.conn->buffered() > 0 && !t.host.sent.empty()) {
    uint32_t end = t.host.sent.back().h.seq + static_cast<uint32_t>(t.host.sent.back().payload.size());
    t.host.sent.clear();
    t.segment(k_guest_isn + 6, end, tcp_flag::k_ack, "", 65535);
  }
  CHECK(t.conn->buffered() == 0);
  CHECK(t.pool.bytes_in_use() == 0);
}

TEST_CASE("tcp conn: a flow the pool refuses stalls, then resumes when blocks come back") {
  constexpr size_t k_block = BufferPool::k_block;
  Harness t;
  // Other flows hold the whole budget: one grew to budget - reserve, the rest took first blocks.
  ByteRing hog(t.pool, 1024 * k_block);
  std::vector<uint8_t> fill(1024 * k_block, 0);
  hog.push(fill);
  std::vector<std::unique_ptr<ByteRing>> others;
  while (t.pool.bytes_in_use() + k_block <= 16 * 1024 * 1024) {
    others.push_back(std::make_unique<ByteRing>(t.pool, k_block));
    others.back()->push(std::span(fill).first(1));
  }
  t.host.sent.clear();
  t.peer_write(std::string(100, 'z'));
  CHECK(t.host.sent.empty());
  CHECK(t.conn->starved());
  hog.consume(hog.size());
  t.conn->resume(t.now);
  REQUIRE_FALSE(t.host.sent.empty());
  CHECK(t.host.sent.back().payload == std::string(100, 'z'));
  CHECK_FALSE(t.conn->starved());
}

TEST_CASE("syn cookies: the completing ACK rebuilds the SYN; other tuples, ISNs and old cookies fail") {
  SynCookies cookies;
  TcpTuple tuple{Ipv4{0xc0a87f02}, 40000, Ipv4{0xc6120001}, 443};
  TimePoint now = Clock::now();
  TcpSegment syn;
  syn.seq = 123456;
  syn.flags = tcp_flag::k_syn;
  syn.mss = 1460;
  syn.wscale = 7;
  syn.sack_permitted = true;
  uint32_t iss = cookies.make(tuple, syn, now);
  TcpSegment ack;
  ack.seq = syn.seq + 1;
  ack.ack = iss + 1;
  ack.flags = tcp_flag::k_ack;
  ack.window = 502;
  auto back = cookies.check(tuple, ack, now + std::chrono::seconds(30));
  REQUIRE(back);
  CHECK(back->seq == syn.seq);
  CHECK(back->mss == 1460);
  CHECK(back->wscale == 7);
  CHECK(back->sack_permitted);
  TcpSegment plain = syn;
  plain.mss = 65480;
  plain.wscale.reset();
  plain.sack_permitted = false;
  ack.ack = cookies.make(tuple, plain, now) + 1;
  back = cookies.check(tuple, ack, now);
  REQUIRE(back);
  CHECK(back->mss == 65480);
  CHECK_FALSE(back->wscale);
  CHECK_FALSE(back->sack_permitted);
  TcpTuple other = tuple;
  other.guest_port = 40001;
  CHECK_FALSE(cookies.check(other, ack, now));
  TcpSegment wrong_isn = ack;
  wrong_isn.seq += 1;
  CHECK_FALSE(cookies.check(tuple, wrong_isn, now));
  CHECK_FALSE(cookies.check(tuple, ack, now + std::chrono::seconds(200)));  // older than one step
}
