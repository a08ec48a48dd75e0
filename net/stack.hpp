// net::Stack: the host-side userspace network stack a sandbox's NIC is wired to.
//
// Ethernet/ARP (answers for every address but the guest's own: the gateway and anything
// off-link), IPv4 (no fragments, no IPv6: those frames are dropped), ICMP echo to the gateway
// only, UDP to gateway:53 only (net::DnsResponder), TCP terminated here for any destination and
// handed to a FlowHandler (net/flow.hpp). One thread, one event loop (util/event_loop.hpp), owns the link and every
// flow's socketpair end. See docs/network.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <thread>

#include "net/flow.hpp"
#include "net/frame_link.hpp"
#include "net/ipv4.hpp"
#include "net/name_map.hpp"
#include "util/result.hpp"

namespace net {

struct StackConfig {
  Ipv4 guest_ip{(192u << 24) | (168u << 16) | (127u << 8) | 2};    // 192.168.127.2
  Ipv4 gateway_ip{(192u << 24) | (168u << 16) | (127u << 8) | 1};  // 192.168.127.1, also DNS
  int prefix = 24;
  uint32_t mtu = 1500;  // IP MTU of the guest NIC; up to 65520
  uint8_t gateway_mac[6] = {0x52, 0x54, 0x00, 0x6d, 0x6c, 0x01};
  // Memory and flow caps of one sandbox (docs/threat-model.md, "Resource limits").
  // The most a flow buffers in each direction (its advertised window); taken from the pool
  // in 16 KiB blocks as data arrives and given back once delivered.
  uint32_t flow_buffer = 1024 * 1024;
  // All flows' buffers and out-of-order segments together; a flow's blocks beyond its first
  // stop at buffer_budget - buffer_reserve, so busy flows cannot starve a new one.
  size_t buffer_budget = 16 * 1024 * 1024;
  size_t buffer_reserve = 4 * 1024 * 1024;
  // Open flows (any state but TIME-WAIT): a SYN beyond gets RST. TIME-WAIT flows are kept
  // up to the same number, the oldest dropped first.
  uint32_t max_flows = 1024;
  // Flows kept in SYN-RECEIVED; a SYN beyond gets a stateless SYN cookie (net/syn_cookie.hpp).
  uint32_t max_half_open = 64;
  // Asked at each SYN; false refuses the connection (net/flow.hpp). Empty: all admitted.
  FlowAdmission admit_flow;
  // DNS policy: allowed names get a synthetic A record; everything else NXDOMAIN.
  std::function<bool(std::string_view name)> name_allowed;
  uint32_t dns_ttl = 5;
};

struct StackStats {
  uint64_t frames_in = 0, frames_out = 0, frames_dropped = 0;
  uint64_t flows_accepted = 0, flows_refused = 0, retransmits = 0;  // accepted: handed to the handler
  uint64_t syn_cookies_sent = 0, syn_cookies_accepted = 0;          // past max_half_open
  uint64_t open_flows = 0, half_open = 0;
  uint64_t buffered_bytes = 0;  // held in flow buffers now (BufferPool)
  uint64_t dns_queries = 0, dns_allowed = 0, dns_denied = 0;
};

class StackImpl;

class Stack {
 public:
  // `names` is shared with the proxy (it maps dst_ip back to dst_name).
  static util::Result<std::unique_ptr<Stack>> create(StackConfig config, std::unique_ptr<FrameLink> link,
                                                     std::shared_ptr<NameMap> names, FlowHandler on_flow);
  ~Stack();  // stops and joins the thread; closes every flow
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // Runs the loop on a new thread.
  util::Result<void> start();
  // Asks the loop to stop (any thread) and joins it. Open flows are reset.
  void stop();
  // Joins the loop (it ends by stop() or a link failure) and returns its result.
  util::Result<void> wait();
  StackStats stats() const;

 private:
  Stack() = default;
  std::unique_ptr<StackImpl> m_impl;
  std::thread m_thread;
  util::Result<void> m_result;
};

}  // namespace net
