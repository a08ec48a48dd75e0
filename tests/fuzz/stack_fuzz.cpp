// Fuzz target: frames from the guest into the real net::Stack (net/stack_impl.hpp), driven
// synchronously with a clock of our own: Ethernet, ARP, IPv4 (options, fragments), ICMP, UDP
// and DNS, and TCP through the connection state machines, SYN cookies (past max_half_open),
// flow admission and caps, the buffer budget, timers, and the proxy's side of each flow (the
// socketpair: writes, reads, half-close, close).
//
// The input is a list of operations. To get past the handshake and the sequence checks, the
// harness plays a guest that can echo what the stack sent (its ISS or cookie, what it
// acknowledged) or write any number: see Guest below. Checksums are computed unless an
// operation asks for the raw bytes.
//
// Invariants: every frame the stack emits parses (Ethernet, IPv4 with a good checksum, TCP/UDP
// checksums), goes to the guest and fits the MTU; the flow and memory caps hold.
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <vector>

#include "net/arp.hpp"
#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/stack_impl.hpp"
#include "net/udp.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using namespace std::chrono_literals;

constexpr net::Ipv4 k_guest{(192u << 24) | (168u << 16) | (127u << 8) | 2};
constexpr net::Ipv4 k_gateway{(192u << 24) | (168u << 16) | (127u << 8) | 1};
constexpr net::MacAddress k_guest_mac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr net::MacAddress k_gateway_mac{0x52, 0x54, 0x00, 0x6d, 0x6c, 0x01};
// Destinations: a synthetic address (mapped below), a raw address, the gateway, another.
constexpr net::Ipv4 k_dsts[] = {net::Ipv4{(198u << 24) | (18u << 16) | 1}, net::Ipv4{0x5db8d822}, k_gateway,
                                net::Ipv4{0x0a000001}};
constexpr uint16_t k_dst_ports[] = {443, 80, 7 /* the handler closes it */, 25 /* not admitted */};

// The stack's link: output frames are collected (and checked), nothing is read.
class CaptureLink : public net::FrameLink {
 public:
  int fd() const override { return -1; }
  util::Result<bool> read_frame(std::vector<uint8_t>&) override { return false; }
  util::Result<void> write_frame(std::span<const uint8_t> frame) override {
    if (out.size() < 512) out.emplace_back(frame.begin(), frame.end());
    return util::ok();
  }
  std::vector<std::vector<uint8_t>> out;
};

struct Config {
  uint32_t mtu;
  net::StackConfig stack;
};

// One guest connection as the harness tracks it.
struct GuestFlow {
  uint32_t snd_nxt = 1000;  // the guest's next sequence number
  uint32_t rcv_nxt = 0;     // what the stack sent up to (for ACKs)
};

struct Harness {
  CaptureLink* link = nullptr;
  std::unique_ptr<net::StackImpl> stack;
  uint32_t mtu = 1500;
  net::TimePoint now = net::TimePoint{} + 1000h;
  std::map<uint64_t, GuestFlow> flows;             // by slot
  std::vector<std::pair<uint64_t, util::Fd>> app;  // the proxy's ends, by guest port
  uint8_t* frame = nullptr;                        // the frame being built (k_max_frame)
};

uint64_t slot_key(net::Ipv4 dst, uint16_t dst_port, uint16_t guest_port) {
  return (uint64_t{dst.value} << 32) | (uint64_t{dst_port} << 16) | guest_port;
}

void check_output(Harness& h) {
  for (auto& f : h.link->out) {
    auto eth = net::parse_ethernet(f);
    FUZZ_CHECK(eth.has_value());
    FUZZ_CHECK(eth->src == k_gateway_mac);
    if (eth->ether_type == static_cast<uint16_t>(net::EtherType::Arp)) {
      FUZZ_CHECK(net::parse_arp(eth->payload).has_value());
      continue;
    }
    FUZZ_CHECK(eth->ether_type == static_cast<uint16_t>(net::EtherType::Ipv4));
    auto ip = net::parse_ipv4_packet(eth->payload);
    FUZZ_CHECK(ip.has_value());
    FUZZ_CHECK(ip->dst == k_guest && !ip->fragment);
    FUZZ_CHECK(ip->payload.size() + net::k_ipv4_header <= h.mtu);
    if (ip->protocol == static_cast<uint8_t>(net::IpProtocol::Udp)) {
      FUZZ_CHECK(net::parse_udp(ip->payload, ip->src, ip->dst).has_value());
    } else if (ip->protocol == static_cast<uint8_t>(net::IpProtocol::Tcp)) {
      auto seg = net::parse_tcp(ip->payload, ip->src, ip->dst);
      FUZZ_CHECK(seg.has_value());
      auto it = h.flows.find(slot_key(ip->src, seg->src_port, seg->dst_port));
      if (it == h.flows.end()) continue;
      uint32_t end = seg->seq + static_cast<uint32_t>(seg->payload.size()) + (seg->has(net::tcp_flag::k_syn) ? 1 : 0) +
                     (seg->has(net::tcp_flag::k_fin) ? 1 : 0);
      if (seg->has(net::tcp_flag::k_syn) || static_cast<int32_t>(end - it->second.rcv_nxt) > 0)
        it->second.rcv_nxt = end;
    } else {
      FUZZ_CHECK(ip->protocol == static_cast<uint8_t>(net::IpProtocol::Icmp));
      FUZZ_CHECK(net::internet_checksum(ip->payload) == 0);
    }
  }
  h.link->out.clear();
  net::StackStats s = h.stack->stats();
  FUZZ_CHECK(s.half_open <= 3);
  FUZZ_CHECK(s.open_flows <= 6);
}

// Writes Ethernet + IPv4 (header checksum fixed) around the L4 bytes at frame[34..34+l4).
size_t wrap_ipv4(Harness& h, net::Ipv4 src, net::Ipv4 dst, net::IpProtocol protocol, size_t l4) {
  net::write_ethernet_header(h.frame, k_gateway_mac, k_guest_mac, net::EtherType::Ipv4);
  net::write_ipv4_header(h.frame + net::k_ethernet_header, src, dst, protocol, static_cast<uint16_t>(l4), 1);
  return net::k_ethernet_header + net::k_ipv4_header + l4;
}

void feed(Harness& h, size_t len) { h.stack->input_frame({h.frame, len}, h.now); }

// TCP: slot, flags, modes, window, options, payload length.
void op_tcp(Harness& h, fuzz::FuzzInput& in) {
  uint8_t slot = in.u8();
  uint16_t guest_port = static_cast<uint16_t>(40000 + (slot & 3));
  net::Ipv4 dst = k_dsts[(slot >> 2) & 3];
  uint16_t dst_port = k_dst_ports[(slot >> 4) & 3];
  GuestFlow& f = h.flows[slot_key(dst, dst_port, guest_port)];
  uint8_t flags = in.u8();
  uint8_t modes = in.u8();
  uint32_t seq = f.snd_nxt, ack = f.rcv_nxt;
  switch (modes & 3) {
    case 1:
      seq += static_cast<uint32_t>(static_cast<int8_t>(in.u8())) * 64;
      break;
    case 2:
      seq = in.u32();
      break;
    case 3:
      seq -= in.u16();
      break;
  }
  switch ((modes >> 2) & 3) {
    case 1:
      ack += static_cast<uint32_t>(static_cast<int8_t>(in.u8()));
      break;
    case 2:
      ack = in.u32();
      break;
    case 3:
      ack -= in.u16();
      break;
  }
  uint16_t window = (modes & 0x10) ? in.u16() : 0xffff;
  // Options: none, the usual SYN set, or raw bytes from the input.
  uint8_t opts[40] = {};
  size_t opt_len = 0;
  if (modes & 0x20) {
    static constexpr uint8_t k_syn_opts[] = {2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7};
    std::memcpy(opts, k_syn_opts, sizeof k_syn_opts);
    opt_len = sizeof k_syn_opts;
  } else if (modes & 0x40) {
    auto raw = in.bytes(in.u8() % 41);
    std::memcpy(opts, raw.data(), raw.size());
    opt_len = raw.size();
  }
  opt_len = (opt_len + 3) & ~size_t{3};
  size_t payload = (modes & 0x80) ? in.u16() % 9000 : 0;
  size_t hl = 20 + opt_len;
  if (net::k_ethernet_header + net::k_ipv4_header + hl + payload > net::k_max_frame) return;
  uint8_t* t = h.frame + net::k_ethernet_header + net::k_ipv4_header;
  net::store_be16(t, guest_port);
  net::store_be16(t + 2, dst_port);
  net::store_be32(t + 4, seq);
  net::store_be32(t + 8, ack);
  t[12] = static_cast<uint8_t>((hl / 4) << 4);
  t[13] = flags;
  net::store_be16(t + 14, window);
  net::store_be32(t + 16, 0);  // checksum, urgent pointer
  std::memcpy(t + 20, opts, opt_len);
  for (size_t i = 0; i < payload; ++i) t[hl + i] = static_cast<uint8_t>('a' + (seq + i) % 26);
  net::Checksum c;
  c.add_pseudo(k_guest, dst, static_cast<uint8_t>(net::IpProtocol::Tcp), static_cast<uint16_t>(hl + payload));
  c.add({t, hl + payload});
  net::store_be16(t + 16, c.finish());
  if ((modes & 3) == 0) {
    if (flags & net::tcp_flag::k_syn) f.snd_nxt = seq + 1;
    f.snd_nxt += static_cast<uint32_t>(payload) + ((flags & net::tcp_flag::k_fin) ? 1 : 0);
  }
  feed(h, wrap_ipv4(h, k_guest, dst, net::IpProtocol::Tcp, hl + payload));
}

// UDP (DNS to the gateway, or anything anywhere): where, then a payload.
void op_udp(Harness& h, fuzz::FuzzInput& in) {
  uint8_t where = in.u8();
  net::Ipv4 dst = (where & 1) ? k_dsts[(where >> 1) & 3] : k_gateway;
  uint16_t port = (where & 8) ? in.u16() : 53;
  auto payload = in.bytes(in.u8());
  uint8_t* u = h.frame + net::k_ethernet_header + net::k_ipv4_header;
  std::memcpy(u + net::k_udp_header, payload.data(), payload.size());
  net::write_udp_header(u, k_guest, dst, 5353, port, static_cast<uint16_t>(payload.size()));
  if (where & 0x10) net::store_be16(u + 6, 0);  // no checksum (allowed for UDP)
  feed(h, wrap_ipv4(h, k_guest, dst, net::IpProtocol::Udp, net::k_udp_header + payload.size()));
}

// ICMP: where, type, payload (checksum computed unless asked not to).
void op_icmp(Harness& h, fuzz::FuzzInput& in) {
  uint8_t where = in.u8();
  net::Ipv4 dst = (where & 1) ? k_dsts[(where >> 1) & 3] : k_gateway;
  uint8_t type = in.u8();
  size_t len = (where & 0x20) ? in.u16() % 9000 : in.u8();
  uint8_t* o = h.frame + net::k_ethernet_header + net::k_ipv4_header;
  size_t l4 = 8 + len;
  if (net::k_ethernet_header + net::k_ipv4_header + l4 > net::k_max_frame) return;
  std::memset(o, 0, 8);
  o[0] = type;
  for (size_t i = 0; i < len; ++i) o[8 + i] = static_cast<uint8_t>(i);
  if (!(where & 0x10)) net::store_be16(o + 2, net::internet_checksum({o, l4}));
  feed(h, wrap_ipv4(h, k_guest, dst, net::IpProtocol::Icmp, l4));
}

// ARP: op, sender (the guest or not), target.
void op_arp(Harness& h, fuzz::FuzzInput& in) {
  uint8_t b = in.u8();
  net::ArpPacket p;
  p.op = (b & 1) ? net::ArpOp::Reply : net::ArpOp::Request;
  p.sender_mac = k_guest_mac;
  p.sender_ip = (b & 2) ? net::Ipv4{in.u32()} : k_guest;
  p.target_ip = (b & 4) ? net::Ipv4{in.u32()} : k_gateway;
  auto frame = net::build_arp_frame(p, net::k_broadcast_mac);
  h.stack->input_frame(frame, h.now);
}

// A raw frame; with FIX, IPv4 header and TCP/UDP/ICMP checksums are made right (so IP
// options, fragments, odd lengths and unknown protocols get past the first gate).
void op_raw(Harness& h, fuzz::FuzzInput& in) {
  bool fix = in.flag();
  auto raw = in.bytes(in.u16() % 2048);
  std::memcpy(h.frame, raw.data(), raw.size());
  size_t len = raw.size();
  if (fix && len >= net::k_ethernet_header + 20 && net::load_be16(h.frame + 12) == 0x0800) {
    uint8_t* ip = h.frame + net::k_ethernet_header;
    size_t ihl = size_t{ip[0] & 0x0fu} * 4;
    size_t total = std::min<size_t>(net::load_be16(ip + 2), len - net::k_ethernet_header);
    if (ihl >= 20 && ihl <= total) {
      net::store_be16(ip + 10, 0);
      net::store_be16(ip + 10, net::internet_checksum({ip, ihl}));
      uint8_t* l4 = ip + ihl;
      size_t l4_len = total - ihl;
      bool known = ip[9] == 6 || ip[9] == 17 || ip[9] == 1;
      size_t at = ip[9] == 6 ? 16 : ip[9] == 17 ? 6 : 2;  // where the checksum is
      if (known && at + 2 <= l4_len) {
        net::store_be16(l4 + at, 0);
        net::Checksum c;
        if (ip[9] != 1)
          c.add_pseudo(net::Ipv4{net::load_be32(ip + 12)}, net::Ipv4{net::load_be32(ip + 16)}, ip[9],
                       static_cast<uint16_t>(l4_len));
        c.add({l4, l4_len});
        net::store_be16(l4 + at, c.finish());
      }
    }
  }
  feed(h, len);
}

// The proxy's end of an accepted flow: write, read, half-close or close.
void op_app(Harness& h, fuzz::FuzzInput& in) {
  uint8_t b = in.u8();
  if (h.app.empty()) return;
  auto& [port, fd] = h.app[(b >> 2) % h.app.size()];
  (void)port;
  switch (b & 3) {
    case 0: {
      static const std::string k_data(256 * 1024, 'x');
      size_t n = size_t{in.u16()} * 4;
      (void)!::send(fd.get(), k_data.data(), std::min(n, k_data.size()),
                    MSG_NOSIGNAL);  // the proxy ignores SIGPIPE too
      break;
    }
    case 1: {
      char buf[65536];
      while (::read(fd.get(), buf, sizeof buf) > 0) {
      }
      break;
    }
    case 2:
      ::shutdown(fd.get(), SHUT_WR);
      break;
    case 3:
      fd.reset();
      break;
  }
  FUZZ_CHECK(h.stack->poll(h.now));
}

void advance_clock(Harness& h, net::Clock::duration d) {
  h.now += d;
  FUZZ_CHECK(h.stack->poll(h.now));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  static constexpr uint32_t k_mtus[] = {1500, 576, 9000, 65520};
  static auto frame = std::make_unique<uint8_t[]>(net::k_max_frame);  // not per input: 68 KiB
  auto h = std::make_unique<Harness>();
  h->frame = frame.get();
  h->mtu = k_mtus[in.u8() & 3];
  net::StackConfig config;
  config.mtu = h->mtu;
  config.flow_buffer = 65536;
  config.buffer_budget = 256 * 1024;
  config.buffer_reserve = 64 * 1024;
  config.max_flows = 6;
  config.max_half_open = 3;
  config.admit_flow = [](const net::FlowInfo& info) { return info.dst_port != 25; };
  config.name_allowed = [](std::string_view name) { return name.ends_with(".allowed.test") || name.size() % 2 == 0; };
  auto names = std::make_shared<net::NameMap>();
  (void)names->address_for("mapped.allowed.test");  // k_dsts[0]
  auto link = std::make_unique<CaptureLink>();
  h->link = link.get();
  Harness* hp = h.get();
  auto loop = util::EventLoop::create();
  FUZZ_CHECK(loop.has_value());
  h->stack = std::make_unique<net::StackImpl>(
      std::move(config), std::move(link), names,
      [hp](const net::FlowInfo& info, util::Fd stream) {
        if (info.dst_port == 7) return;  // closed inside the handler: a refusal
        FUZZ_CHECK(util::set_nonblocking(stream.get(), true).has_value());
        hp->app.emplace_back(info.guest_port, std::move(stream));
      },
      std::move(*loop));

  for (int ops = 0; !in.empty() && ops < 256; ++ops) {
    switch (in.u8() % 8) {
      case 0:
      case 1:
        op_tcp(*h, in);
        break;
      case 2:
        op_udp(*h, in);
        break;
      case 3:
        op_icmp(*h, in);
        break;
      case 4:
        op_arp(*h, in);
        break;
      case 5:
        op_raw(*h, in);
        break;
      case 6:
        op_app(*h, in);
        break;
      case 7: {
        std::chrono::milliseconds d(in.u16());
        advance_clock(*h, (in.u8() & 1) ? d * 100 : d);
        break;
      }
    }
    check_output(*h);
  }
  // Let every timer run out: retransmissions give up, TIME-WAIT ends.
  for (auto d : {1s, 10s, 100s, 1000s}) {
    advance_clock(*h, d);
    check_output(*h);
  }
  static const bool debug = std::getenv("STACK_FUZZ_DEBUG") != nullptr;  // what a seed reached
  if (debug) {
    net::StackStats s = h->stack->stats();
    std::fprintf(
        stderr,
        "frames in %lu out %lu dropped %lu, flows accepted %lu refused %lu, cookies %lu/%lu, retransmits %lu, dns %lu\n",
        s.frames_in, s.frames_out, s.frames_dropped, s.flows_accepted, s.flows_refused, s.syn_cookies_sent,
        s.syn_cookies_accepted, s.retransmits, s.dns_queries);
  }
  return 0;
}
