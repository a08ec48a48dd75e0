// Internal to net::Stack: the loop thread's state. Not part of the public interface.
#pragma once

#include <atomic>
#include <memory>
#include <random>
#include <set>
#include <unordered_map>

#include "net/buffer_pool.hpp"
#include <vector>

#include "net/dns_responder.hpp"
#include "net/ethernet.hpp"
#include "util/event_loop.hpp"
#include "net/ipv4_packet.hpp"
#include "net/stack.hpp"
#include "net/syn_cookie.hpp"
#include "net/tcp_conn.hpp"

namespace net {

struct AtomicStats {
  std::atomic<uint64_t> frames_in{0}, frames_out{0}, frames_dropped{0};
  std::atomic<uint64_t> flows_accepted{0}, flows_refused{0}, retransmits{0};
  std::atomic<uint64_t> syn_cookies_sent{0}, syn_cookies_accepted{0};
  std::atomic<uint64_t> open_flows{0}, half_open{0}, buffered_bytes{0};
};

class StackImpl final : public TcpHost {
 public:
  StackImpl(StackConfig config, std::unique_ptr<FrameLink> link, std::shared_ptr<NameMap> names, FlowHandler on_flow,
            util::EventLoop loop);
  ~StackImpl() override;

  util::Result<void> run();
  void request_stop();
  StackStats stats() const;

  // The loop's steps, also driven directly (no thread, no link fd, a clock of the caller's)
  // by tests/fuzz/stack_fuzz.cpp:
  // One frame from the guest, at NOW.
  void input_frame(std::span<const uint8_t> frame, TimePoint now);
  // Flow socketpair events ready now (no waiting), then timers, starved flows and
  // delayed ACKs, all at NOW.
  util::Result<void> poll(TimePoint now);

  // TcpHost
  void send_segment(const TcpConn& conn, const TcpHeaderOut& header, PayloadParts parts) override;
  void count_retransmit() override { ++m_stats.retransmits; }

 private:
  static constexpr uint64_t k_link_token = ~uint64_t{0} - 1;
  // Which cap a flow counts against.
  enum class Phase { HalfOpen, Open, TimeWait };
  struct Flow {
    std::unique_ptr<TcpConn> conn;
    uint64_t key = 0;
    TimePoint scheduled = k_never;
    Phase phase = Phase::HalfOpen;
    bool in_ack_list = false;
    bool in_starved_list = false;
    int loop_fd = -1;  // the conn's fd as registered in m_loop (-1: none)
  };

  // stack.cpp
  void flow_event(uint64_t id, uint32_t events, TimePoint now);
  util::Result<void> housekeeping(TimePoint now);
  // stack_frames.cpp
  void handle_frame(std::span<const uint8_t> frame);
  void handle_arp(const EthernetFrame& eth);
  void handle_ipv4(const EthernetFrame& eth);
  void handle_icmp(const Ipv4Packet& ip);
  void handle_udp(const Ipv4Packet& ip);
  void send_icmp_unreachable(const Ipv4Packet& ip, uint8_t code);
  // Sends an IPv4 packet whose L4 bytes the caller wrote at m_out[k_l4_offset..+l4_length).
  void emit_ipv4(Ipv4 src, Ipv4 dst, IpProtocol protocol, size_t l4_length);
  // stack_tcp.cpp
  void handle_tcp(const Ipv4Packet& ip);
  bool admitted(const TcpTuple& tuple);
  void open_flow(const TcpTuple& tuple, const TcpSegment& syn, uint64_t key);
  bool open_cookie_flow(const TcpTuple& tuple, const TcpSegment& ack, uint64_t key);
  uint64_t add_flow(std::unique_ptr<TcpConn> conn, uint64_t key);
  void send_tcp(const TcpTuple& tuple, const TcpHeaderOut& header, PayloadParts parts);
  void send_reset_for(const TcpTuple& tuple, const TcpSegment& seg);
  FlowInfo flow_info(const TcpTuple& tuple) const;
  bool hand_over(uint64_t id, Flow& flow);
  void after(uint64_t id);
  void set_phase(uint64_t id, Flow& flow, Phase phase);
  void erase_flow(uint64_t id);
  void resume_starved(TimePoint now);
  void publish_stats();
  void fire_timers(TimePoint now);
  void flush_acks();

  static constexpr size_t k_l4_offset = k_ethernet_header + k_ipv4_header;

  StackConfig m_config;
  std::unique_ptr<FrameLink> m_link;
  std::shared_ptr<NameMap> m_names;
  FlowHandler m_on_flow;
  util::EventLoop m_loop;
  DnsResponder m_dns;
  std::atomic<bool> m_stop{false};
  AtomicStats m_stats;
  std::atomic<uint64_t> m_dns_queries{0}, m_dns_allowed{0}, m_dns_denied{0};

  MacAddress m_gateway_mac{};
  MacAddress m_guest_mac = k_broadcast_mac;
  bool m_link_registered = false;  // run() polls the link; input_frame() callers feed it
  bool m_link_out_registered = false;
  TimePoint m_now{};  // the frame being handled arrived at this time
  uint16_t m_ip_id = 0;
  std::unique_ptr<uint8_t[]> m_out;  // one frame being built (k_max_frame; not zero-filled)
  std::vector<uint8_t> m_in;
  std::mt19937 m_rng;
  SynCookies m_cookies;
  BufferPool m_pool;  // before m_flows: the conns give their blocks back to it

  uint64_t m_next_id = 1;
  std::unordered_map<uint64_t, Flow> m_flows;       // by id
  std::unordered_map<uint64_t, uint64_t> m_by_key;  // (dst ip, dst port, guest port) -> id
  std::set<std::pair<TimePoint, uint64_t>> m_timers;
  std::vector<uint64_t> m_acks;
  std::set<uint64_t> m_half_open;   // ids in SYN-RECEIVED; ids grow, so begin() is the oldest
  std::set<uint64_t> m_time_wait;   // ids in TIME-WAIT, likewise
  std::vector<uint64_t> m_starved;  // flows the pool refused a block (TcpConn::starved)
};

}  // namespace net
