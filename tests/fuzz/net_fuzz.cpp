// Fuzz target for the stack's parsers: Ethernet, ARP, IPv4, UDP, TCP (with options), DNS and the
// DNS responder. Input: one Ethernet frame; the frame's payload is also tried as a bare DNS
// message. Build with -DMATCHLOCK_FUZZ=ON and clang (libFuzzer); corpus_main.cpp replays seeds.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "net/arp.hpp"
#include "net/dns_message.hpp"
#include "net/dns_responder.hpp"
#include "net/ethernet.hpp"
#include "net/ipv4_packet.hpp"
#include "net/name_map.hpp"
#include "net/tcp_segment.hpp"
#include "net/udp.hpp"

namespace {

void dns(std::span<const uint8_t> message) {
  static auto names = std::make_shared<net::NameMap>(net::Cidr{net::Ipv4{0xc6120000}, 24});
  static net::DnsResponder responder(names, [](std::string_view n) { return n.size() % 2 == 0; }, 5);
  auto response = responder.answer(message);
  if (response) {
    net::DnsQuery q;
    (void)net::parse_dns_query(*response, q);  // our own output must parse as a message header
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  dns(in);
  auto eth = net::parse_ethernet(in);
  if (!eth) return 0;
  if (auto arp = net::parse_arp(eth->payload)) (void)net::build_arp_frame(*arp, eth->src);
  auto ip = net::parse_ipv4_packet(eth->payload);
  if (!ip) return 0;
  if (auto udp = net::parse_udp(ip->payload, ip->src, ip->dst)) dns(udp->payload);
  if (auto tcp = net::parse_tcp(ip->payload, ip->src, ip->dst)) {
    volatile size_t sink = tcp->payload.size() + tcp->mss.value_or(0) + tcp->wscale.value_or(0);
    (void)sink;
  }
  // Checksums are the first gate; also run the L4 parsers over unverified bytes.
  (void)net::parse_tcp(ip->payload, ip->dst, ip->src);
  return 0;
}
