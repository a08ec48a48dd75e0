// StackImpl: Ethernet demux, ARP, IPv4 checks, ICMP echo (gateway only), UDP (DNS on the gateway).
#include <algorithm>
#include <cstring>

#include "net/arp.hpp"
#include "net/bytes.hpp"
#include "net/checksum.hpp"
#include "net/stack_impl.hpp"
#include "net/udp.hpp"

namespace net {

namespace {
constexpr uint16_t k_dns_port = 53;
constexpr uint8_t k_icmp_echo_reply = 0, k_icmp_unreachable = 3, k_icmp_echo_request = 8;
constexpr uint8_t k_unreach_port = 3, k_unreach_admin = 13;
}  // namespace

void StackImpl::handle_frame(std::span<const uint8_t> frame) {
  auto eth = parse_ethernet(frame);
  if (!eth) {
    ++m_stats.frames_dropped;
    return;
  }
  if (eth->ether_type == static_cast<uint16_t>(EtherType::Arp)) return handle_arp(*eth);
  if (eth->ether_type == static_cast<uint16_t>(EtherType::Ipv4)) return handle_ipv4(*eth);
  ++m_stats.frames_dropped;  // IPv6 (the guest is IPv4-only) and everything else
}

void StackImpl::handle_arp(const EthernetFrame& eth) {
  auto arp = parse_arp(eth.payload);
  if (!arp || arp->sender_ip != m_config.guest_ip) {
    ++m_stats.frames_dropped;
    return;
  }
  m_guest_mac = arp->sender_mac;
  // Proxy ARP: we answer for every address except the guest's own (gateway and off-link alike).
  if (arp->op != ArpOp::Request || arp->target_ip == m_config.guest_ip) return;
  ArpPacket reply{ArpOp::Reply, m_gateway_mac, arp->target_ip, arp->sender_mac, arp->sender_ip};
  auto out = build_arp_frame(reply, arp->sender_mac);
  (void)m_link->write_frame(out);
  ++m_stats.frames_out;
}

void StackImpl::handle_ipv4(const EthernetFrame& eth) {
  auto ip = parse_ipv4_packet(eth.payload);
  if (!ip || ip->fragment || ip->src != m_config.guest_ip) {
    ++m_stats.frames_dropped;
    return;
  }
  m_guest_mac = eth.src;
  switch (ip->protocol) {
    case static_cast<uint8_t>(IpProtocol::Tcp):
      return handle_tcp(*ip);
    case static_cast<uint8_t>(IpProtocol::Udp):
      return handle_udp(*ip);
    case static_cast<uint8_t>(IpProtocol::Icmp):
      return handle_icmp(*ip);
    default:
      ++m_stats.frames_dropped;
  }
}

void StackImpl::emit_ipv4(Ipv4 src, Ipv4 dst, IpProtocol protocol, size_t l4_length) {
  write_ethernet_header(m_out.get(), m_guest_mac, m_gateway_mac, EtherType::Ipv4);
  write_ipv4_header(m_out.get() + k_ethernet_header, src, dst, protocol, static_cast<uint16_t>(l4_length), m_ip_id++);
  auto r = m_link->write_frame({m_out.get(), k_l4_offset + l4_length});
  if (r)
    ++m_stats.frames_out;
  else
    ++m_stats.frames_dropped;
}

void StackImpl::handle_icmp(const Ipv4Packet& ip) {
  // Echo to the gateway only; everything else is silently dropped (no ICMP leaves the sandbox).
  if (ip.dst != m_config.gateway_ip || ip.payload.size() < 8 || ip.payload[0] != k_icmp_echo_request ||
      internet_checksum(ip.payload) != 0 || ip.payload.size() > m_config.mtu - k_ipv4_header) {
    ++m_stats.frames_dropped;
    return;
  }
  uint8_t* o = m_out.get() + k_l4_offset;
  std::memcpy(o, ip.payload.data(), ip.payload.size());
  o[0] = k_icmp_echo_reply;
  o[1] = 0;
  store_be16(o + 2, 0);
  store_be16(o + 2, internet_checksum({o, ip.payload.size()}));
  emit_ipv4(ip.dst, ip.src, IpProtocol::Icmp, ip.payload.size());
}

// Destination unreachable carrying the offending header + 8 bytes, so the guest fails fast.
void StackImpl::send_icmp_unreachable(const Ipv4Packet& ip, uint8_t code) {
  size_t quoted = std::min<size_t>(ip.payload.size(), 8);
  uint8_t* o = m_out.get() + k_l4_offset;
  std::memset(o, 0, 8);
  o[0] = k_icmp_unreachable;
  o[1] = code;
  // Rebuild the quoted IP header (we only kept the parsed fields).
  write_ipv4_header(o + 8, ip.src, ip.dst, static_cast<IpProtocol>(ip.protocol),
                    static_cast<uint16_t>(ip.payload.size()), 0);
  std::memcpy(o + 8 + k_ipv4_header, ip.payload.data(), quoted);
  size_t len = 8 + k_ipv4_header + quoted;
  store_be16(o + 2, internet_checksum({o, len}));
  emit_ipv4(m_config.gateway_ip, ip.src, IpProtocol::Icmp, len);
}

void StackImpl::handle_udp(const Ipv4Packet& ip) {
  auto udp = parse_udp(ip.payload, ip.src, ip.dst);
  if (!udp) {
    ++m_stats.frames_dropped;
    return;
  }
  if (ip.dst != m_config.gateway_ip) return send_icmp_unreachable(ip, k_unreach_admin);
  if (udp->dst_port != k_dns_port) return send_icmp_unreachable(ip, k_unreach_port);
  auto response = m_dns.answer(udp->payload);
  if (!response) return;
  // A stub without EDNS accepts 512 bytes; ours are far smaller (one question, one A record).
  size_t max_payload = m_config.mtu - k_ipv4_header - k_udp_header;
  if (response->size() > max_payload) return;
  uint8_t* o = m_out.get() + k_l4_offset;
  std::memcpy(o + k_udp_header, response->data(), response->size());
  write_udp_header(o, ip.dst, ip.src, k_dns_port, udp->src_port, static_cast<uint16_t>(response->size()));
  emit_ipv4(ip.dst, ip.src, IpProtocol::Udp, k_udp_header + response->size());
}

}  // namespace net
