// TcpConn: one guest TCP connection terminated in the stack (passive open only), pumping bytes
// between the TCP state machine and the stack's end of the flow's socketpair.
//
// Implemented: MSS and window-scale negotiation; in-order delivery with an out-of-order queue;
// retransmission on timeout (RFC 6298 RTO, go-back-N) and on three duplicate ACKs (NewReno);
// slow start / congestion avoidance; SACK blocks for what we hold out of order (so the guest
// repairs several holes per round trip); zero-window probing (persist); FIN and RST both ways;
// bounded buffers from the stack's BufferPool, taken as data arrives and given back once
// delivered (the receive ring sets the advertised window; the send ring stops reads from the
// socketpair; in-order data goes straight to the socketpair when the ring is empty). Not
// implemented: acting on the guest's SACK blocks, timestamps, urgent data.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>

#include "net/byte_ring.hpp"
#include "net/ipv4.hpp"
#include "net/tcp_segment.hpp"
#include "util/fd.hpp"

namespace net {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
inline constexpr TimePoint k_never = TimePoint::max();

struct TcpTuple {
  Ipv4 guest_ip;
  uint16_t guest_port = 0;
  Ipv4 dst_ip;
  uint16_t dst_port = 0;
};

enum class TcpState { SynReceived, Established, CloseWait, FinWait1, FinWait2, Closing, LastAck, TimeWait, Closed };

class TcpConn;

// A segment's payload: contiguous pieces (ring blocks) sent back to back.
using PayloadParts = std::span<const std::span<const uint8_t>>;

// What a connection needs from the stack.
class TcpHost {
 public:
  virtual ~TcpHost() = default;
  // Sends one segment toward the guest; the payload is the concatenation of PARTS.
  virtual void send_segment(const TcpConn& conn, const TcpHeaderOut& header, PayloadParts parts) = 0;
  virtual void count_retransmit() = 0;
};

struct TcpParams {
  uint32_t mtu = 1500;
  uint32_t buffer = 1024 * 1024;  // the most each ring may hold (blocks come from the pool)
};

class TcpConn {
 public:
  TcpConn(TcpHost& host, BufferPool& pool, const TcpTuple& tuple, const TcpParams& params, const TcpSegment& syn,
          uint32_t iss, TimePoint now);
  ~TcpConn();
  TcpConn(const TcpConn&) = delete;
  TcpConn& operator=(const TcpConn&) = delete;

  const TcpTuple& tuple() const { return m_tuple; }
  TcpState state() const { return m_state; }
  bool closed() const { return m_state == TcpState::Closed; }
  int fd() const { return m_fd.get(); }
  // The util::ev bits (k_in, k_out) this conn drained to EAGAIN and waits for.
  uint32_t fd_waiting() const;
  TimePoint deadline() const;
  bool ack_pending() const { return m_ack_pending; }
  // The pool refused this flow a block (it stalls): call resume() once blocks were released.
  bool starved() const { return m_pool_limited; }
  // Bytes held in the rings and the out-of-order queue.
  size_t buffered() const { return m_send.size() + m_recv.size() + m_ooo_bytes; }

  // Our socketpair end (non-blocking), registered edge-triggered by the stack once the
  // handshake completed; until then data from the guest waits in the receive ring.
  void attach(util::Fd fd) { m_fd = std::move(fd); }
  void send_syn_ack();
  // The SYN-ACK a connection built from SYN with ISS would send, for a stateless (cookie) reply.
  static TcpHeaderOut syn_ack_header(const TcpTuple& tuple, const TcpSegment& syn, uint32_t iss, uint32_t mtu);
  void on_segment(const TcpSegment& seg, TimePoint now);
  void on_fd_event(uint32_t events, TimePoint now);  // util::ev bits
  void on_timer(TimePoint now);
  void flush_ack();
  // Retries what the pool refused (reading the socketpair, reopening the window).
  void resume(TimePoint now);
  // Tear down with an RST to the guest (stack shutdown, eviction, refusal by the handler).
  void abort();

 private:
  uint32_t fin_seq() const { return m_send_base + static_cast<uint32_t>(m_send.size()); }
  bool fin_sent() const;
  uint32_t advertised_window() const;
  void send(uint8_t flags, uint32_t seq, PayloadParts parts = {});
  void send_data(uint32_t seq, size_t len, uint8_t extra_flags);
  bool retransmit_one(uint32_t seq);
  void process_ack(const TcpSegment& seg, TimePoint now);
  void process_data(const TcpSegment& seg, TimePoint now);
  // Takes DATA at rcv_nxt (then what the out-of-order queue continues); false if not all fit.
  bool accept_in_order(std::span<const uint8_t> data, TimePoint now);
  // In-order bytes to the socketpair directly when nothing is queued, the rest to the ring.
  size_t deliver(std::span<const uint8_t> data);
  void drop_ooo();
  void consume_fin(TimePoint now);
  void output(TimePoint now);
  void pump_fd(TimePoint now);
  void fill_send(TimePoint now);
  void drain_recv();
  void reset_and_close(bool send_rst);
  void close_fd();
  void enter_time_wait(TimePoint now);

  TcpHost& m_host;
  BufferPool& m_pool;
  TcpTuple m_tuple;
  TcpState m_state = TcpState::SynReceived;
  util::Fd m_fd;
  uint32_t m_mss;
  uint32_t m_our_mss;

  // send side (toward the guest)
  uint32_t m_iss;
  uint32_t m_snd_una, m_snd_nxt, m_snd_max;
  uint32_t m_send_base;  // sequence number of m_send's first byte
  uint64_t m_snd_wnd = 0;
  uint8_t m_snd_shift = 0;  // the guest's window scale
  uint8_t m_rcv_shift = 0;  // ours (0 unless the guest offered scaling)
  bool m_sack_ok = false;   // the guest offered SACK: we report out-of-order blocks
  uint64_t m_cwnd, m_ssthresh = ~uint64_t{0} >> 2;
  int m_dupacks = 0;
  bool m_in_recovery = false;
  uint32_t m_recover = 0;
  ByteRing m_send;

  // RTT and timers
  bool m_rtt_valid = false;
  double m_srtt_us = 0, m_rttvar_us = 0;
  Clock::duration m_rto;
  bool m_timing = false;
  uint32_t m_timing_seq = 0;
  TimePoint m_timing_start;
  int m_backoff = 0;
  TimePoint m_rto_at = k_never, m_persist_at = k_never, m_close_at = k_never;
  int m_persist_backoff = 0;

  // receive side (from the guest)
  uint32_t m_irs;
  uint64_t m_rcv_nxt64 = 0;  // offset from irs + 1
  ByteRing m_recv;
  std::map<uint64_t, std::vector<uint8_t>> m_ooo;
  size_t m_ooo_bytes = 0;
  std::optional<uint64_t> m_ooo_fin;
  uint64_t m_last_adv = 0;
  bool m_ack_pending = false;
  bool m_pool_limited = false;

  // the socketpair end
  bool m_can_read = false, m_can_write = false;
  bool m_fd_eof = false;        // read 0: FIN queued after the send ring
  bool m_fin_received = false;  // guest FIN consumed
  bool m_fd_shut = false;       // shutdown(SHUT_WR) done
  bool m_fin_acked = false;
  uint64_t m_bytes_from_fd = 0;
};

}  // namespace net
