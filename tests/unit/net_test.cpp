// Parsers and pieces of net/stack: checksum, Ethernet/ARP/IPv4/UDP/TCP, DNS, NameMap, ByteRing,
// the QEMU stream framing, private-address filtering.
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "net/arp.hpp"
#include "net/byte_ring.hpp"
#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/dns_message.hpp"
#include "net/dns_responder.hpp"
#include "net/frame_link.hpp"
#include "net/ipv4_packet.hpp"
#include "net/name_map.hpp"
#include "net/resolve_upstream.hpp"
#include "net/tcp_segment.hpp"
#include "net/udp.hpp"

using namespace net;

namespace {
Ipv4 ip(const char* s) { return *parse_ipv4(s); }

std::vector<uint8_t> dns_query(const std::string& name, uint16_t qtype, uint16_t id = 0x1234) {
  std::vector<uint8_t> q(12, 0);
  store_be16(q.data(), id);
  store_be16(q.data() + 2, 0x0100);  // RD
  store_be16(q.data() + 4, 1);
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q.push_back(static_cast<uint8_t>(dot - start));
    q.insert(q.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  q.push_back(0);
  uint8_t tail[4];
  store_be16(tail, qtype);
  store_be16(tail + 2, 1);
  q.insert(q.end(), tail, tail + 4);
  return q;
}
}  // namespace

TEST_CASE("checksum: RFC 1071 example and odd split spans") {
  // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2 -> checksum ~0xddf2.
  const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  CHECK(internet_checksum(d) == static_cast<uint16_t>(~0xddf2));
  Checksum c;
  c.add({d, 3});
  c.add({d + 3, 5});
  CHECK(c.finish() == internet_checksum(d));
}

TEST_CASE("ipv4: header round trip, bad checksum and fragments") {
  uint8_t buf[28] = {};
  write_ipv4_header(buf, ip("10.0.0.1"), ip("10.0.0.2"), IpProtocol::Udp, 8, 7);
  auto p = parse_ipv4_packet(buf);
  REQUIRE(p);
  CHECK(p->src == ip("10.0.0.1"));
  CHECK(p->dst == ip("10.0.0.2"));
  CHECK(p->protocol == 17);
  CHECK(p->payload.size() == 8);
  CHECK_FALSE(p->fragment);
  buf[8] ^= 1;  // TTL changed without fixing the checksum
  CHECK_FALSE(parse_ipv4_packet(buf));
  buf[8] ^= 1;
  CHECK_FALSE(parse_ipv4_packet({buf, 20}));  // total length beyond the buffer
}

TEST_CASE("arp: request parsed, reply built") {
  ArpPacket req{ArpOp::Request, {2, 0, 0, 0, 0, 1}, ip("192.168.127.2"), {}, ip("192.168.127.1")};
  auto frame = build_arp_frame(req, k_broadcast_mac);
  auto eth = parse_ethernet(frame);
  REQUIRE(eth);
  CHECK(eth->ether_type == 0x0806);
  auto back = parse_arp(eth->payload);
  REQUIRE(back);
  CHECK(back->op == ArpOp::Request);
  CHECK(back->target_ip == ip("192.168.127.1"));
  CHECK_FALSE(parse_arp(eth->payload.first(20)));
}

TEST_CASE("tcp: options parsed from a SYN, header round trip with checksum") {
  std::vector<uint8_t> seg(40 + 5);
  TcpHeaderOut h{1234, 80, 1000, 0, tcp_flag::k_syn, 64240, 1460, 7};
  size_t hl = tcp_header_length(h);
  REQUIRE(hl == 28);
  seg.resize(hl + 5);
  std::memcpy(seg.data() + hl, "hello", 5);
  write_tcp_header(seg.data(), h, ip("10.0.0.2"), ip("1.2.3.4"), 5);
  auto s = parse_tcp(seg, ip("10.0.0.2"), ip("1.2.3.4"));
  REQUIRE(s);
  CHECK(s->mss == 1460);
  CHECK(s->wscale == 7);
  CHECK(s->seq == 1000);
  CHECK(std::string(s->payload.begin(), s->payload.end()) == "hello");
  CHECK_FALSE(parse_tcp(seg, ip("10.0.0.2"), ip("1.2.3.5")));  // pseudo-header mismatch
  seg[12] = 0xf0;                                              // data offset 60 > length
  CHECK_FALSE(parse_tcp(std::span(seg).first(40), ip("10.0.0.2"), ip("1.2.3.4")));
}

TEST_CASE("udp: checksum verified, zero checksum accepted") {
  std::vector<uint8_t> d(8 + 3);
  std::memcpy(d.data() + 8, "abc", 3);
  write_udp_header(d.data(), ip("10.0.0.2"), ip("10.0.0.1"), 5353, 53, 3);
  auto u = parse_udp(d, ip("10.0.0.2"), ip("10.0.0.1"));
  REQUIRE(u);
  CHECK(u->dst_port == 53);
  CHECK(u->payload.size() == 3);
  d[9] ^= 0xff;
  CHECK_FALSE(parse_udp(d, ip("10.0.0.2"), ip("10.0.0.1")));
  store_be16(d.data() + 6, 0);  // "no checksum" (RFC 768)
  CHECK(parse_udp(d, ip("10.0.0.2"), ip("10.0.0.1")));
}

TEST_CASE("dns: allowed A gets a synthetic address, AAAA empty, others NXDOMAIN") {
  auto names = std::make_shared<NameMap>();
  DnsResponder dns(
      names, [](std::string_view n) { return n == "api.example.com"; }, 5);
  auto a = dns.answer(dns_query("API.Example.com", dns_type::k_a));
  REQUIRE(a);
  CHECK(load_be16(a->data()) == 0x1234);
  CHECK((load_be16(a->data() + 2) & 0x000f) == 0);  // NOERROR
  CHECK(load_be16(a->data() + 6) == 1);             // one answer
  Ipv4 got{load_be32(a->data() + a->size() - 4)};
  CHECK(k_synthetic_pool.contains(got));
  CHECK(names->name_for(got) == "api.example.com");

  auto aaaa = dns.answer(dns_query("api.example.com", dns_type::k_aaaa));
  REQUIRE(aaaa);
  CHECK((load_be16(aaaa->data() + 2) & 0x000f) == 0);
  CHECK(load_be16(aaaa->data() + 6) == 0);

  auto denied = dns.answer(dns_query("evil.example.com", dns_type::k_a));
  REQUIRE(denied);
  CHECK((load_be16(denied->data() + 2) & 0x000f) == 3);  // NXDOMAIN
  CHECK(dns.stats().denied == 1);

  auto response = *a;  // a response (QR set) is dropped, not answered
  CHECK_FALSE(dns.answer(response));
  std::vector<uint8_t> bad = dns_query("x.y", dns_type::k_a);
  bad[12] = 0xc0;  // a compression pointer in the question
  auto formerr = dns.answer(bad);
  REQUIRE(formerr);
  CHECK((load_be16(formerr->data() + 2) & 0x000f) == 1);
}

TEST_CASE("name map: stable, distinct, normalised, bounded") {
  NameMap m(Cidr{ip("198.18.0.0"), 30});
  auto a = m.address_for("a.test");
  auto b = m.address_for("B.test.");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a != *b);
  CHECK(m.address_for("A.TEST") == a);
  CHECK(m.name_for(*b) == "b.test");
  CHECK_FALSE(m.address_for("c.test"));  // /30: .1 and .2 only
  CHECK_FALSE(m.name_for(ip("198.18.0.3")));
}

TEST_CASE("byte ring: holds its limit, copies out across block seams, gives blocks back") {
  constexpr size_t k_block = BufferPool::k_block;
  BufferPool pool(1024 * k_block, 0);
  ByteRing r(pool, 3 * k_block + 100);
  CHECK(pool.bytes_in_use() == 0);  // nothing taken before data arrives
  std::vector<uint8_t> data(4 * k_block);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  CHECK(r.push(std::span(data).first(100)) == 100);
  CHECK(pool.bytes_in_use() == k_block);
  CHECK(r.push(std::span(data).subspan(100)) == 3 * k_block);  // up to the limit
  CHECK(r.free() == 0);
  CHECK(pool.bytes_in_use() == 4 * k_block);
  std::vector<uint8_t> out(k_block + 50);
  r.copy_out(k_block - 25, out.size(), out.data());  // across a seam
  CHECK(std::equal(out.begin(), out.end(), data.begin() + k_block - 25));
  CHECK(r.peek(k_block - 25).size() == 25);  // pieces stop at block ends
  r.consume(2 * k_block + 10);
  CHECK(pool.bytes_in_use() == 2 * k_block);  // emptied blocks went back
  CHECK(r.peek()[0] == data[2 * k_block + 10]);
  r.consume(r.size());
  CHECK(pool.bytes_in_use() == 0);
  CHECK(r.empty());
}

TEST_CASE("buffer pool: a ring's first block comes from the reserve, the rest from the budget") {
  constexpr size_t k_block = BufferPool::k_block;
  BufferPool pool(4 * k_block, 2 * k_block);
  ByteRing big(pool, 16 * k_block), other(pool, 16 * k_block), third(pool, 16 * k_block);
  std::vector<uint8_t> data(16 * k_block, 1);
  CHECK(big.push(data) == 2 * k_block);  // first block + one more, then the reserve is kept
  CHECK(big.starved());
  CHECK(other.push(data) == k_block);  // a new flow still gets its first block
  CHECK(third.push(data) == k_block);
  CHECK(pool.bytes_in_use() == 4 * k_block);
  ByteRing fourth(pool, 16 * k_block);
  CHECK(fourth.push(data) == 0);  // the whole budget is held
  CHECK_FALSE(pool.charge(1));
  pool.released_since_check();
  big.consume(big.size());
  CHECK(pool.released_since_check());
  CHECK(fourth.push(data) > 0);
}

TEST_CASE("stream link: QEMU length-prefixed frames, split reads reassembled") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
  util::Fd peer(sv[1]);
  auto link = make_stream_link(util::Fd(sv[0]));
  REQUIRE(link);
  std::vector<uint8_t> wire = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 2, 'd', 'e'};
  REQUIRE(write(peer.get(), wire.data(), 5) == 5);  // a frame cut in the middle
  std::vector<uint8_t> frame;
  auto r = (*link)->read_frame(frame);
  REQUIRE(r);
  CHECK_FALSE(*r);
  REQUIRE(write(peer.get(), wire.data() + 5, wire.size() - 5) == static_cast<ssize_t>(wire.size() - 5));
  REQUIRE(*(*link)->read_frame(frame));
  CHECK(std::string(frame.begin(), frame.end()) == "abc");
  REQUIRE(*(*link)->read_frame(frame));
  CHECK(std::string(frame.begin(), frame.end()) == "de");
  const uint8_t out[] = {'x', 'y'};
  REQUIRE((*link)->write_frame(out));
  uint8_t got[6];
  REQUIRE(read(peer.get(), got, 6) == 6);
  CHECK(load_be32(got) == 2);
  CHECK(got[4] == 'x');
  const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};
  REQUIRE(write(peer.get(), huge, 4) == 4);
  CHECK_FALSE((*link)->read_frame(frame));  // oversized length: the link is broken
}

namespace {
// An Ethernet-sized test frame: LEN bytes, each byte TAG (frames are told apart by their tag).
std::vector<uint8_t> test_frame(size_t len, uint8_t tag) { return std::vector<uint8_t>(len, tag); }
}  // namespace

TEST_CASE("datagram link: buffers follow Apple's rule, RCVBUF at least twice SNDBUF") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0);
  util::Fd a(sv[0]), b(sv[1]);
  for (int want : {k_datagram_rcvbuf, 64 * 1024}) {
    auto got = set_datagram_buffers(a.get(), want);
    REQUIRE(got);
    CHECK(got->rcvbuf >= 2 * got->sndbuf);
    CHECK(got->rcvbuf >= k_datagram_rcv_per_snd * got->sndbuf - 64);  // the kernel may round
    CHECK(static_cast<size_t>(got->sndbuf) >= k_datagram_mtu);
  }
  // A receive buffer too small for one MTU-sized frame after the 4:1 split is refused.
  CHECK_FALSE(set_datagram_buffers(b.get(), 1024));
}

TEST_CASE("datagram link: one frame per datagram both ways on a real socketpair") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0);
  util::Fd peer(sv[1]);
  REQUIRE(set_datagram_buffers(sv[0]));
  REQUIRE(set_datagram_buffers(peer.get()));
  auto link = make_datagram_link(util::Fd(sv[0]));
  REQUIRE(link);
  std::vector<uint8_t> frame;
  CHECK_FALSE(*(*link)->read_frame(frame));  // nothing yet: would block
  // Guest -> stack: two frames back to back stay two frames (no stream coalescing).
  auto f1 = test_frame(60, 1), f2 = test_frame(k_datagram_mtu + 14, 2);
  REQUIRE(send(peer.get(), f1.data(), f1.size(), 0) == static_cast<ssize_t>(f1.size()));
  REQUIRE(send(peer.get(), f2.data(), f2.size(), 0) == static_cast<ssize_t>(f2.size()));
  REQUIRE(*(*link)->read_frame(frame));
  CHECK(frame == f1);
  REQUIRE(*(*link)->read_frame(frame));
  CHECK(frame == f2);
  CHECK_FALSE(*(*link)->read_frame(frame));
  // Stack -> guest: each write is exactly one datagram, with no length prefix.
  REQUIRE((*link)->write_frame(f1));
  REQUIRE((*link)->write_frame(f2));
  std::vector<uint8_t> got(k_max_frame);
  REQUIRE(recv(peer.get(), got.data(), got.size(), 0) == static_cast<ssize_t>(f1.size()));
  CHECK(std::vector<uint8_t>(got.begin(), got.begin() + 60) == f1);
  REQUIRE(recv(peer.get(), got.data(), got.size(), 0) == static_cast<ssize_t>(f2.size()));
  CHECK(got[0] == 2);
}

TEST_CASE("datagram link: a hostile guest's empty, runt and oversized datagrams are dropped whole") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0);
  util::Fd peer(sv[1]);
  int big = 1 << 20;  // room for the oversized datagram below
  REQUIRE(setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big) == 0);
  REQUIRE(setsockopt(peer.get(), SOL_SOCKET, SO_SNDBUF, &big, sizeof big) == 0);
  auto link = make_datagram_link(util::Fd(sv[0]));
  REQUIRE(link);
  auto runt = test_frame(13, 7), huge = test_frame(k_max_frame + 1, 8), good = test_frame(64, 9);
  REQUIRE(send(peer.get(), "", 0, 0) == 0);  // an empty datagram is not EOF
  REQUIRE(send(peer.get(), runt.data(), runt.size(), 0) == 13);
  REQUIRE(send(peer.get(), huge.data(), huge.size(), 0) == static_cast<ssize_t>(huge.size()));
  REQUIRE(send(peer.get(), good.data(), good.size(), 0) == 64);
  std::vector<uint8_t> frame;
  auto r = (*link)->read_frame(frame);
  REQUIRE(r);
  REQUIRE(*r);
  CHECK(frame == good);  // the first frame the stack sees is the good one, uncut
  CHECK_FALSE(*(*link)->read_frame(frame));
  // A flood of runts: one call drops a bounded number and returns, it does not spin on them.
  for (int i = 0; i < 100; ++i) REQUIRE(send(peer.get(), runt.data(), runt.size(), 0) == 13);
  REQUIRE(send(peer.get(), good.data(), good.size(), 0) == 64);
  CHECK_FALSE(*(*link)->read_frame(frame));  // 64 runts dropped, the call returns
  REQUIRE(*(*link)->read_frame(frame));      // the next call drops the other 36, then the frame
  CHECK(frame == good);
}

TEST_CASE("datagram link: a full peer queues frames that flush in order, and a closed peer is an error") {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) == 0);
  util::Fd peer(sv[1]);
  REQUIRE(set_datagram_buffers(sv[0]));
  auto link = make_datagram_link(util::Fd(sv[0]));
  REQUIRE(link);
  // Write until the peer (which reads nothing) stops taking datagrams.
  int written = 0;
  while (!(*link)->wants_write() && written < 100000) {
    auto f = test_frame(1500, static_cast<uint8_t>(written));
    REQUIRE((*link)->write_frame(f));
    ++written;
  }
  REQUIRE((*link)->wants_write());
  auto queued_tag = static_cast<uint8_t>(written - 1);
  // Drain the peer; the queued frame follows the ones before it.
  std::vector<uint8_t> got(k_max_frame);
  int read_count = 0;
  uint8_t last = 0;
  for (;;) {
    REQUIRE((*link)->flush());
    ssize_t n = recv(peer.get(), got.data(), got.size(), MSG_DONTWAIT);
    if (n < 0) break;
    CHECK(n == 1500);
    CHECK(got[0] == static_cast<uint8_t>(read_count));
    last = got[0];
    ++read_count;
  }
  CHECK(read_count == written);
  CHECK(last == queued_tag);
  CHECK_FALSE((*link)->wants_write());
  peer.reset();
  auto f = test_frame(64, 1);
  CHECK_FALSE((*link)->write_frame(f));  // the VMM's end is gone: the link says so
}

TEST_CASE("block_private: private, loopback, link-local, CGNAT, metadata blocked") {
  for (const char* a : {"10.1.2.3", "127.0.0.1", "169.254.169.254", "100.64.0.1", "172.16.0.1", "192.168.1.1",
                        "0.0.0.0", "224.0.0.1", "255.255.255.255", "198.18.0.1"})
    CHECK(is_private_address(ip(a)));
  for (const char* a : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1"}) CHECK_FALSE(is_private_address(ip(a)));
  auto loop = resolve_upstream("localhost", BlockPrivate::Yes);
  CHECK_FALSE(loop);  // localhost is loopback: filtered
  auto allowed = resolve_upstream("localhost", BlockPrivate::No);
  REQUIRE(allowed);
  CHECK(allowed->front() == ip("127.0.0.1"));
}
