// TcpConn: segment processing (ACKs, data, FIN/RST) and output. Socket side: tcp_conn_io.cpp.
#include "net/tcp_conn.hpp"
#include "util/descriptors.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace net {

using std::chrono::microseconds;
using std::chrono::milliseconds;

namespace {
constexpr uint8_t k_our_wscale = 7;
// The guest is on the same host: 50 ms is long for its RTT, short for a stall.
constexpr Clock::duration k_min_rto = milliseconds(50);
constexpr Clock::duration k_max_rto = std::chrono::seconds(30);
constexpr int k_max_backoff = 10;
// A segment (at most 65480 bytes) spans at most this many ring blocks.
constexpr size_t k_max_parts = 65535 / BufferPool::k_block + 2;

bool seq_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
bool seq_gt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) > 0; }
}  // namespace

TcpConn::TcpConn(TcpHost& host, BufferPool& pool, const TcpTuple& tuple, const TcpParams& params, const TcpSegment& syn,
                 uint32_t iss, TimePoint now)
    : m_host(host),
      m_pool(pool),
      m_tuple(tuple),
      m_our_mss(params.mtu - 40),
      m_iss(iss),
      m_snd_una(iss),
      m_snd_nxt(iss + 1),
      m_snd_max(iss + 1),
      m_send_base(iss + 1),
      m_send(pool, params.buffer),
      m_rto(std::chrono::seconds(1)),
      m_irs(syn.seq),
      m_recv(pool, params.buffer) {
  m_mss = std::min<uint32_t>(syn.mss.value_or(536), m_our_mss);
  if (m_mss < 64) m_mss = 64;
  if (syn.wscale) {
    m_snd_shift = *syn.wscale;
    m_rcv_shift = k_our_wscale;
  }
  m_sack_ok = syn.sack_permitted;
  m_snd_wnd = syn.window;  // never scaled in a SYN
  m_cwnd = uint64_t{10} * m_mss;
  m_rto_at = now + m_rto;
  m_close_at = now + std::chrono::seconds(75);  // handshake must finish by then
}

TcpConn::~TcpConn() { m_pool.uncharge(m_ooo_bytes); }

TimePoint TcpConn::deadline() const { return std::min({m_rto_at, m_persist_at, m_close_at}); }

bool TcpConn::fin_sent() const { return m_fd_eof && seq_gt(m_snd_nxt, fin_seq()); }

uint32_t TcpConn::advertised_window() const {
  uint64_t w = m_recv.free();
  w = std::min<uint64_t>(w >> m_rcv_shift, 65535);
  return static_cast<uint32_t>(w);
}

void TcpConn::send(uint8_t flags, uint32_t seq, PayloadParts parts) {
  TcpHeaderOut h;
  h.src_port = m_tuple.dst_port;
  h.dst_port = m_tuple.guest_port;
  h.seq = seq;
  h.ack = m_irs + 1 + static_cast<uint32_t>(m_rcv_nxt64);
  h.flags = flags;
  uint32_t w = advertised_window();
  h.window = static_cast<uint16_t>(w);
  m_last_adv = uint64_t{w} << m_rcv_shift;
  if (flags & tcp_flag::k_ack) m_ack_pending = false;
  // SACK only on pure ACKs: on a full-sized data segment the options would exceed the MTU.
  if (m_sack_ok && !m_ooo.empty() && parts.empty() && !(flags & tcp_flag::k_rst)) {
    // Merge the out-of-order segments into ranges; report the lowest four.
    uint64_t ranges[4][2] = {};
    int n = 0;
    for (const auto& [start, data] : m_ooo) {
      uint64_t end = start + data.size();
      if (n > 0 && start <= ranges[n - 1][1]) {
        ranges[n - 1][1] = std::max(ranges[n - 1][1], end);
        continue;
      }
      if (n == 4) break;
      ranges[n][0] = start;
      ranges[n][1] = end;
      ++n;
    }
    uint32_t base = m_irs + 1;
    for (int k = 0; k < n; ++k) {
      h.sack[k][0] = base + static_cast<uint32_t>(ranges[k][0]);
      h.sack[k][1] = base + static_cast<uint32_t>(ranges[k][1]);
    }
    h.sack_count = static_cast<uint8_t>(n);
  }
  m_host.send_segment(*this, h, parts);
}

void TcpConn::send_syn_ack() {
  TcpHeaderOut h;
  h.src_port = m_tuple.dst_port;
  h.dst_port = m_tuple.guest_port;
  h.seq = m_iss;
  h.ack = m_irs + 1;
  h.flags = tcp_flag::k_syn | tcp_flag::k_ack;
  h.window = static_cast<uint16_t>(std::min<size_t>(m_recv.free(), 65535));
  h.mss = static_cast<uint16_t>(std::min<uint32_t>(m_our_mss, 65535));
  if (m_rcv_shift) h.wscale = m_rcv_shift;
  h.sack_permitted = m_sack_ok;
  m_last_adv = h.window;
  m_host.send_segment(*this, h, {});
}

TcpHeaderOut TcpConn::syn_ack_header(const TcpTuple& tuple, const TcpSegment& syn, uint32_t iss, uint32_t mtu) {
  TcpHeaderOut h;
  h.src_port = tuple.dst_port;
  h.dst_port = tuple.guest_port;
  h.seq = iss;
  h.ack = syn.seq + 1;
  h.flags = tcp_flag::k_syn | tcp_flag::k_ack;
  h.window = 65535;
  h.mss = static_cast<uint16_t>(std::min<uint32_t>(mtu - 40, 65535));
  if (syn.wscale) h.wscale = k_our_wscale;
  h.sack_permitted = syn.sack_permitted;
  return h;
}

void TcpConn::abort() { reset_and_close(m_state != TcpState::TimeWait && m_state != TcpState::Closed); }

void TcpConn::send_data(uint32_t seq, size_t len, uint8_t extra_flags) {
  size_t offset = seq - m_send_base;
  std::array<std::span<const uint8_t>, k_max_parts> parts;
  size_t n = 0, got = 0;
  while (got < len && n < parts.size()) {
    auto piece = m_send.peek(offset + got);
    if (piece.empty()) break;
    piece = piece.first(std::min(piece.size(), len - got));
    parts[n++] = piece;
    got += piece.size();
  }
  send(tcp_flag::k_ack | extra_flags, seq, PayloadParts(parts.data(), n));
}

// Resends the segment starting at `seq` (data, or the FIN). Returns false if nothing is there.
bool TcpConn::retransmit_one(uint32_t seq) {
  size_t end = m_send.size();
  size_t offset = seq - m_send_base;
  if (seq_lt(seq, m_send_base)) return false;
  if (offset < end) {
    size_t len = std::min<size_t>(m_mss, end - offset);
    bool with_fin = m_fd_eof && offset + len == end && fin_sent();
    send_data(seq, len, tcp_flag::k_psh | (with_fin ? tcp_flag::k_fin : 0));
  } else if (m_fd_eof && seq == fin_seq() && fin_sent()) {
    send(tcp_flag::k_fin | tcp_flag::k_ack, seq);
  } else {
    return false;
  }
  m_host.count_retransmit();
  m_timing = false;  // Karn
  return true;
}

void TcpConn::on_segment(const TcpSegment& seg, TimePoint now) {
  if (m_state == TcpState::Closed) return;
  uint32_t rcv_nxt = m_irs + 1 + static_cast<uint32_t>(m_rcv_nxt64);
  if (seg.has(tcp_flag::k_rst)) {
    // Accept an RST only at (or within the window after) rcv_nxt (RFC 5961 spirit).
    uint32_t off = seg.seq - rcv_nxt;
    if (m_state == TcpState::SynReceived || off <= std::max<uint64_t>(m_recv.capacity(), 1)) reset_and_close(false);
    return;
  }
  if (seg.has(tcp_flag::k_syn)) {
    if (m_state == TcpState::SynReceived && seg.seq == m_irs)
      send_syn_ack();  // retransmitted SYN
    else
      send(tcp_flag::k_ack, m_snd_nxt);  // challenge ACK
    return;
  }
  if (!seg.has(tcp_flag::k_ack)) return;
  if (m_state == TcpState::SynReceived) {
    if (seg.ack != m_iss + 1) {
      send(tcp_flag::k_rst, seg.ack);
      return;
    }
    m_state = TcpState::Established;
    m_snd_una = m_iss + 1;
    m_snd_wnd = uint64_t{seg.window} << m_snd_shift;
    m_rto_at = k_never;
    m_close_at = k_never;
    m_backoff = 0;
  }
  process_ack(seg, now);
  if (m_state == TcpState::Closed) return;
  process_data(seg, now);
  if (m_state == TcpState::Closed) return;
  pump_fd(now);
  output(now);
}

void TcpConn::process_ack(const TcpSegment& seg, TimePoint now) {
  uint32_t ack = seg.ack;
  if (seq_gt(ack, m_snd_max)) {  // acks something never sent
    m_ack_pending = true;
    return;
  }
  uint64_t new_wnd = uint64_t{seg.window} << m_snd_shift;
  bool window_changed = new_wnd != m_snd_wnd;
  if (seq_lt(ack, m_snd_una)) return;  // old duplicate
  m_snd_wnd = new_wnd;
  if (m_snd_wnd > 0) {
    m_persist_at = k_never;
    m_persist_backoff = 0;
  }
  if (seq_gt(ack, m_snd_una)) {
    uint32_t acked = ack - m_snd_una;
    if (seq_gt(ack, m_send_base)) {
      size_t n = std::min<size_t>(ack - m_send_base, m_send.size());
      m_send.consume(n);
      m_send_base += static_cast<uint32_t>(n);
    }
    if (m_fd_eof && seq_gt(ack, fin_seq())) m_fin_acked = true;
    m_snd_una = ack;
    if (seq_lt(m_snd_nxt, m_snd_una)) m_snd_nxt = m_snd_una;
    if (m_timing && !seq_lt(ack, m_timing_seq)) {
      double r = std::chrono::duration<double, std::micro>(now - m_timing_start).count();
      if (!m_rtt_valid) {
        m_srtt_us = r;
        m_rttvar_us = r / 2;
        m_rtt_valid = true;
      } else {
        m_rttvar_us = 0.75 * m_rttvar_us + 0.25 * std::abs(m_srtt_us - r);
        m_srtt_us = 0.875 * m_srtt_us + 0.125 * r;
      }
      m_rto = std::clamp<Clock::duration>(microseconds(static_cast<int64_t>(m_srtt_us + 4 * m_rttvar_us)), k_min_rto,
                                          k_max_rto);
      m_timing = false;
    }
    if (m_in_recovery) {
      if (!seq_lt(ack, m_recover)) {
        m_in_recovery = false;
        m_cwnd = m_ssthresh;
      } else {  // partial ACK: the next hole
        retransmit_one(m_snd_una);
        m_cwnd = m_cwnd > acked ? m_cwnd - acked + m_mss : m_mss;
      }
    } else if (m_cwnd < m_ssthresh) {
      m_cwnd += std::min<uint64_t>(acked, m_mss);
    } else {
      m_cwnd += std::max<uint64_t>(uint64_t{m_mss} * m_mss / m_cwnd, 1);
    }
    m_dupacks = 0;
    m_backoff = 0;
    m_rto_at = m_snd_una == m_snd_max ? k_never : now + m_rto;
    if (m_fin_acked) {
      if (m_state == TcpState::FinWait1)
        m_state = TcpState::FinWait2;
      else if (m_state == TcpState::Closing)
        enter_time_wait(now);
      else if (m_state == TcpState::LastAck)
        reset_and_close(false);
    }
  } else if (seg.payload.empty() && !seg.has(tcp_flag::k_fin) && m_snd_una != m_snd_max &&
             (!window_changed || m_snd_wnd > 0)) {
    // A duplicate ACK. Unlike RFC 5681 we also count ones whose window moved (the guest's reader
    // drains while it reports a hole); a spurious fast retransmit costs one segment.
    ++m_dupacks;
    if (m_dupacks == 3 && !m_in_recovery) {
      uint64_t flight = m_snd_max - m_snd_una;
      m_ssthresh = std::max<uint64_t>(flight / 2, 2 * uint64_t{m_mss});
      m_recover = m_snd_max;
      m_in_recovery = true;
      retransmit_one(m_snd_una);
      m_cwnd = m_ssthresh + 3 * uint64_t{m_mss};
    } else if (m_dupacks > 3 && m_in_recovery) {
      m_cwnd += m_mss;
    }
  }
}

void TcpConn::process_data(const TcpSegment& seg, TimePoint now) {
  bool fin = seg.has(tcp_flag::k_fin);
  if (seg.payload.empty() && !fin) {
    // An empty segment off rcv_nxt is a zero-window probe or keep-alive: it must be answered,
    // or a lost window update would stall the flow for good.
    if (seg.seq != m_irs + 1 + static_cast<uint32_t>(m_rcv_nxt64)) m_ack_pending = true;
    return;
  }
  bool accepting = m_state == TcpState::Established || m_state == TcpState::FinWait1 || m_state == TcpState::FinWait2;
  if (!accepting) {  // the guest already sent FIN: just acknowledge
    m_ack_pending = true;
    return;
  }
  uint32_t rcv_nxt = m_irs + 1 + static_cast<uint32_t>(m_rcv_nxt64);
  int64_t start = static_cast<int64_t>(m_rcv_nxt64) + static_cast<int32_t>(seg.seq - rcv_nxt);
  std::span<const uint8_t> data = seg.payload;
  int64_t end = start + static_cast<int64_t>(data.size());
  int64_t nxt = static_cast<int64_t>(m_rcv_nxt64);
  if (end < nxt || (end == nxt && !fin)) {  // entirely old: duplicate, ack at once
    send(tcp_flag::k_ack, m_snd_nxt);
    return;
  }
  if (start < nxt) {
    data = data.subspan(static_cast<size_t>(nxt - start));
    start = nxt;
  }
  size_t room = m_recv.free();
  if (room < m_recv.capacity() - m_recv.size()) m_pool_limited = true;  // the pool, not the window, limits
  int64_t limit = nxt + static_cast<int64_t>(room);
  if (start + static_cast<int64_t>(data.size()) > limit) {
    data = data.first(static_cast<size_t>(std::max<int64_t>(limit - start, 0)));
    fin = false;
  }
  if (start == nxt) {
    bool had_ooo = !m_ooo.empty();
    if (!accept_in_order(data, now)) fin = false;
    if (fin) consume_fin(now);
    if (had_ooo || fin)
      send(tcp_flag::k_ack, m_snd_nxt);
    else
      m_ack_pending = true;
    drain_recv();
    return;
  }
  // Out of order: keep it (bounded by the window) and send a duplicate ACK at once.
  auto key = static_cast<uint64_t>(start);
  if (!data.empty() && m_ooo_bytes + data.size() <= m_recv.capacity()) {
    auto it = m_ooo.find(key);
    size_t old = it == m_ooo.end() ? 0 : it->second.size();
    if (data.size() > old) {
      if (m_pool.charge(data.size() - old)) {
        m_ooo_bytes += data.size() - old;
        m_ooo[key].assign(data.begin(), data.end());
      } else {
        m_pool_limited = true;  // dropped: the guest resends it
      }
    }
  }
  if (fin) m_ooo_fin = static_cast<uint64_t>(start) + data.size();
  send(tcp_flag::k_ack, m_snd_nxt);
}

bool TcpConn::accept_in_order(std::span<const uint8_t> data, TimePoint now) {
  size_t taken = deliver(data);
  m_rcv_nxt64 += taken;
  if (taken < data.size()) {
    m_pool_limited = true;
    return false;
  }
  while (!m_ooo.empty() && m_ooo.begin()->first <= m_rcv_nxt64) {
    auto node = m_ooo.extract(m_ooo.begin());
    m_ooo_bytes -= node.mapped().size();
    m_pool.uncharge(node.mapped().size());
    uint64_t seg_end = node.key() + node.mapped().size();
    if (seg_end > m_rcv_nxt64) {
      auto rest = std::span<const uint8_t>(node.mapped()).subspan(m_rcv_nxt64 - node.key());
      size_t pushed = deliver(rest);
      m_rcv_nxt64 += pushed;
      if (pushed < rest.size()) {
        m_pool_limited = true;
        return true;
      }
    }
  }
  if (m_ooo_fin && *m_ooo_fin == m_rcv_nxt64) {
    m_ooo_fin.reset();
    consume_fin(now);
  }
  return true;
}

size_t TcpConn::deliver(std::span<const uint8_t> data) {
  size_t direct = 0;
  if (m_recv.empty() && m_can_write && m_fd && !data.empty()) {
    ssize_t n =
        util::retry_eintr([&] { return util::send_nosignal(m_fd.get(), data.data(), data.size(), MSG_DONTWAIT); });
    if (n > 0)
      direct = static_cast<size_t>(n);
    else if (n < 0 && errno == EAGAIN)
      m_can_write = false;
    // other errors: drain_recv() meets them again and resets the flow
  }
  return direct + m_recv.push(data.subspan(direct));
}

void TcpConn::drop_ooo() {
  m_ooo.clear();
  m_pool.uncharge(m_ooo_bytes);
  m_ooo_bytes = 0;
}

void TcpConn::consume_fin(TimePoint now) {
  if (m_fin_received) return;
  m_fin_received = true;
  m_rcv_nxt64 += 1;
  drop_ooo();
  if (m_state == TcpState::Established)
    m_state = TcpState::CloseWait;
  else if (m_state == TcpState::FinWait1)
    m_state = m_fin_acked ? TcpState::TimeWait : TcpState::Closing;
  else if (m_state == TcpState::FinWait2)
    m_state = TcpState::TimeWait;
  if (m_state == TcpState::TimeWait) enter_time_wait(now);
}

void TcpConn::output(TimePoint now) {
  if (m_state != TcpState::Established && m_state != TcpState::CloseWait && m_state != TcpState::FinWait1 &&
      m_state != TcpState::LastAck && m_state != TcpState::Closing)
    return;
  uint32_t data_end = fin_seq();
  while (seq_lt(m_snd_nxt, data_end)) {
    uint64_t in_flight = m_snd_nxt - m_snd_una;
    uint64_t wnd = std::min(m_snd_wnd, m_cwnd);
    if (in_flight >= wnd) break;
    size_t len = std::min<uint64_t>({uint64_t{m_mss}, wnd - in_flight, uint64_t{data_end - m_snd_nxt}});
    // Avoid silly segments while more is in flight; the window will open.
    if (len < m_mss && len < uint64_t{data_end - m_snd_nxt} && in_flight > 0) break;
    bool last = m_snd_nxt + len == data_end;
    bool with_fin = last && m_fd_eof;
    if (!m_timing && m_snd_nxt == m_snd_max) {
      m_timing = true;
      m_timing_seq = m_snd_nxt + static_cast<uint32_t>(len);
      m_timing_start = now;
    }
    send_data(m_snd_nxt, len, (last ? tcp_flag::k_psh : 0) | (with_fin ? tcp_flag::k_fin : 0));
    m_snd_nxt += static_cast<uint32_t>(len) + (with_fin ? 1 : 0);
    if (seq_gt(m_snd_nxt, m_snd_max)) m_snd_max = m_snd_nxt;
    if (m_rto_at == k_never) m_rto_at = now + m_rto;
    if (with_fin) break;
  }
  if (m_fd_eof && m_snd_nxt == data_end) {  // FIN alone (no data left to carry it)
    send(tcp_flag::k_fin | tcp_flag::k_ack, m_snd_nxt);
    m_snd_nxt += 1;
    if (seq_gt(m_snd_nxt, m_snd_max)) m_snd_max = m_snd_nxt;
    if (m_rto_at == k_never) m_rto_at = now + m_rto;
  }
  if (fin_sent()) {
    if (m_state == TcpState::Established)
      m_state = TcpState::FinWait1;
    else if (m_state == TcpState::CloseWait)
      m_state = TcpState::LastAck;
  }
  // Zero window with data waiting and nothing in flight: probe.
  bool waiting = seq_lt(m_snd_nxt, data_end);
  if (waiting && m_snd_wnd == 0 && m_snd_una == m_snd_max) {
    if (m_persist_at == k_never) m_persist_at = now + std::clamp<Clock::duration>(m_rto, k_min_rto, k_max_rto);
  } else {
    m_persist_at = k_never;
    m_persist_backoff = 0;
  }
}

void TcpConn::on_timer(TimePoint now) {
  if (m_close_at <= now) {
    reset_and_close(m_state == TcpState::SynReceived);
    return;
  }
  if (m_rto_at <= now) {
    if (++m_backoff > k_max_backoff) {
      reset_and_close(true);
      return;
    }
    m_rto = std::min<Clock::duration>(m_rto * 2, k_max_rto);
    m_rto_at = now + m_rto;
    if (m_state == TcpState::SynReceived) {
      send_syn_ack();
      return;
    }
    m_ssthresh = std::max<uint64_t>((m_snd_max - m_snd_una) / 2, 2 * uint64_t{m_mss});
    m_cwnd = m_mss;
    m_in_recovery = false;
    m_dupacks = 0;
    m_timing = false;
    m_snd_nxt = m_snd_una;  // go back N
    m_host.count_retransmit();
    output(now);
  }
  if (m_persist_at <= now) {
    send(tcp_flag::k_ack, m_snd_una - 1);  // a probe the guest must answer with its window
    m_persist_backoff = std::min(m_persist_backoff + 1, 6);
    m_persist_at = now + std::clamp<Clock::duration>(m_rto * (1 << m_persist_backoff), k_min_rto, k_max_rto);
  }
}

void TcpConn::flush_ack() {
  if (m_ack_pending && m_state != TcpState::Closed) send(tcp_flag::k_ack, m_snd_nxt);
}

void TcpConn::resume(TimePoint now) {
  m_pool_limited = false;
  if (m_state == TcpState::Closed || m_state == TcpState::SynReceived) return;
  pump_fd(now);
  if (m_state == TcpState::Closed) return;
  // The window the pool had closed may be open again: say so rather than wait for a probe.
  uint64_t window = uint64_t{advertised_window()} << m_rcv_shift;
  if (window >= m_last_adv + 2 * uint64_t{m_mss}) m_ack_pending = true;
  output(now);
}

void TcpConn::enter_time_wait(TimePoint now) {
  m_state = TcpState::TimeWait;
  m_rto_at = k_never;
  m_persist_at = k_never;
  m_close_at = now + std::chrono::seconds(2);
  if (m_recv.empty()) close_fd();  // else drain_recv() closes it once the guest's data is out
}

}  // namespace net
