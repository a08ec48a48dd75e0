// StackImpl: TCP demultiplexing, flow creation (socketpair + FlowHandler) under the flow caps,
// timers, flows the buffer pool starved, segment output.
#include <poll.h>
#include <sys/socket.h>

#include <cstring>

#include "net/stack_impl.hpp"
#include "util/descriptors.hpp"

namespace net {

namespace {
uint64_t flow_key(Ipv4 dst, uint16_t dst_port, uint16_t guest_port) {
  return (uint64_t{dst.value} << 32) | (uint64_t{dst_port} << 16) | guest_port;
}
}  // namespace

void StackImpl::handle_tcp(const Ipv4Packet& ip) {
  auto seg = parse_tcp(ip.payload, ip.src, ip.dst);
  if (!seg) {
    ++m_stats.frames_dropped;
    return;
  }
  TcpTuple tuple{ip.src, seg->src_port, ip.dst, seg->dst_port};
  uint64_t key = flow_key(ip.dst, seg->dst_port, seg->src_port);
  bool pure_syn = seg->has(tcp_flag::k_syn) && !seg->has(tcp_flag::k_ack);
  if (auto it = m_by_key.find(key); it != m_by_key.end()) {
    uint64_t id = it->second;
    TcpConn& conn = *m_flows.at(id).conn;
    if (pure_syn && conn.state() == TcpState::TimeWait) {
      erase_flow(id);  // port reuse: a new connection replaces the old one's TIME-WAIT
    } else {
      conn.on_segment(*seg, m_now);
      after(id);
      return;
    }
  }
  if (pure_syn) return open_flow(tuple, *seg, key);
  bool plain_ack = seg->has(tcp_flag::k_ack) && !seg->has(tcp_flag::k_syn) && !seg->has(tcp_flag::k_rst);
  if (plain_ack && open_cookie_flow(tuple, *seg, key)) return;
  if (!seg->has(tcp_flag::k_rst)) send_reset_for(tuple, *seg);
}

FlowInfo StackImpl::flow_info(const TcpTuple& tuple) const {
  FlowInfo info{tuple.guest_ip, tuple.guest_port, tuple.dst_ip, tuple.dst_port, {}};
  if (m_names->is_synthetic(tuple.dst_ip)) info.dst_name = m_names->name_for(tuple.dst_ip).value_or("");
  return info;
}

// The flow cap and the handler's admission (its own cap): false -> the connection is refused.
bool StackImpl::admitted(const TcpTuple& tuple) {
  bool ok = m_flows.size() - m_time_wait.size() < m_config.max_flows && m_on_flow && tuple.dst_port != 0 &&
            (!m_config.admit_flow || m_config.admit_flow(flow_info(tuple)));
  if (!ok) ++m_stats.flows_refused;
  return ok;
}

// A SYN: an admitted flow gets a TcpConn and a SYN-ACK, nothing more until the handshake
// completes. Past max_half_open the SYN-ACK is a stateless cookie: a SYN flood costs nothing
// and the handshakes of real connections still complete.
void StackImpl::open_flow(const TcpTuple& tuple, const TcpSegment& syn, uint64_t key) {
  if (!admitted(tuple)) return send_reset_for(tuple, syn);
  TimePoint now = m_now;
  if (m_half_open.size() >= m_config.max_half_open) {
    ++m_stats.syn_cookies_sent;
    return send_tcp(tuple, TcpConn::syn_ack_header(tuple, syn, m_cookies.make(tuple, syn, now), m_config.mtu), {});
  }
  TcpParams params{m_config.mtu, m_config.flow_buffer};
  auto conn = std::make_unique<TcpConn>(*this, m_pool, tuple, params, syn, static_cast<uint32_t>(m_rng()), now);
  conn->send_syn_ack();
  after(add_flow(std::move(conn), key));
}

// An ACK for no flow: the end of a handshake answered with a cookie, if it carries a valid one.
bool StackImpl::open_cookie_flow(const TcpTuple& tuple, const TcpSegment& ack, uint64_t key) {
  TimePoint now = m_now;
  auto syn = m_cookies.check(tuple, ack, now);
  if (!syn) return false;
  if (!admitted(tuple)) return false;  // the caller resets it
  ++m_stats.syn_cookies_accepted;
  TcpParams params{m_config.mtu, m_config.flow_buffer};
  auto conn = std::make_unique<TcpConn>(*this, m_pool, tuple, params, *syn, ack.ack - 1, now);
  TcpConn& c = *conn;
  uint64_t id = add_flow(std::move(conn), key);
  c.on_segment(ack, now);  // completes the handshake (and takes any data it carries)
  after(id);
  return true;
}

uint64_t StackImpl::add_flow(std::unique_ptr<TcpConn> conn, uint64_t key) {
  uint64_t id = m_next_id++;
  m_flows.emplace(id, Flow{std::move(conn), key});
  m_by_key[key] = id;
  m_half_open.insert(id);
  return id;
}

void StackImpl::send_reset_for(const TcpTuple& tuple, const TcpSegment& seg) {
  TcpHeaderOut h;
  h.src_port = tuple.dst_port;
  h.dst_port = tuple.guest_port;
  if (seg.has(tcp_flag::k_ack)) {
    h.seq = seg.ack;
    h.flags = tcp_flag::k_rst;
  } else {
    h.seq = 0;
    h.ack = seg.seq + static_cast<uint32_t>(seg.payload.size()) + (seg.has(tcp_flag::k_syn) ? 1 : 0) +
            (seg.has(tcp_flag::k_fin) ? 1 : 0);
    h.flags = tcp_flag::k_rst | tcp_flag::k_ack;
  }
  send_tcp(tuple, h, {});
}

void StackImpl::send_segment(const TcpConn& conn, const TcpHeaderOut& header, PayloadParts parts) {
  send_tcp(conn.tuple(), header, parts);
}

void StackImpl::send_tcp(const TcpTuple& tuple, const TcpHeaderOut& header, PayloadParts parts) {
  size_t hl = tcp_header_length(header);
  uint8_t* o = m_out.get() + k_l4_offset;
  size_t payload = 0;
  for (auto part : parts) payload += part.size();
  if (k_l4_offset + hl + payload > k_max_frame) return;
  size_t at = hl;
  for (auto part : parts) {
    std::memcpy(o + at, part.data(), part.size());
    at += part.size();
  }
  write_tcp_header(o, header, tuple.dst_ip, tuple.guest_ip, payload);
  emit_ipv4(tuple.dst_ip, tuple.guest_ip, IpProtocol::Tcp, hl + payload);
}

// Re-files a flow after anything touched it: timer, pending ACK, or removal once closed.
void StackImpl::after(uint64_t id) {
  auto it = m_flows.find(id);
  if (it == m_flows.end()) return;
  Flow& flow = it->second;
  if (flow.conn->closed()) return erase_flow(id);
  if (flow.loop_fd >= 0 && flow.conn->fd() != flow.loop_fd) {  // the conn closed its fd
    m_loop.forget(flow.loop_fd, id);
    flow.loop_fd = -1;
  } else if (flow.loop_fd >= 0) {
    m_loop.rearm(flow.loop_fd, flow.conn->fd_waiting());  // the poll loop's edges (a no-op on epoll)
  }
  TcpState state = flow.conn->state();
  Phase phase = state == TcpState::SynReceived ? Phase::HalfOpen
                : state == TcpState::TimeWait  ? Phase::TimeWait
                                               : Phase::Open;
  if (phase != flow.phase) {
    bool handshake_done = flow.phase == Phase::HalfOpen;
    set_phase(id, flow, phase);
    if (handshake_done && !hand_over(id, flow)) return;
    // TIME-WAIT cap: the oldest goes (it only answers a retransmitted FIN).
    if (phase == Phase::TimeWait && m_time_wait.size() > m_config.max_flows) {
      uint64_t oldest = *m_time_wait.begin();
      erase_flow(oldest);
      if (oldest == id) return;
    }
  }
  if (flow.conn->starved() && !flow.in_starved_list) {
    flow.in_starved_list = true;
    m_starved.push_back(id);
  }
  TimePoint when = flow.conn->deadline();
  if (when != flow.scheduled) {
    if (flow.scheduled != k_never) m_timers.erase({flow.scheduled, id});
    if (when != k_never) m_timers.insert({when, id});
    flow.scheduled = when;
  }
  if (flow.conn->ack_pending() && !flow.in_ack_list) {
    flow.in_ack_list = true;
    m_acks.push_back(id);
  }
}

// The handshake completed: the flow gets its socketpair and goes to the handler. False when
// the flow is gone (refused inside the handler, or no socketpair): reset and erased.
bool StackImpl::hand_over(uint64_t id, Flow& flow) {
  TcpConn& conn = *flow.conn;
  int pair[2];
  bool ok = util::socketpair_cloexec(AF_UNIX, SOCK_STREAM, pair, util::Blocking::No) == 0;
  if (ok) {
    util::Fd ours(pair[0]);
    util::Fd theirs(pair[1]);
    (void)util::set_nonblocking(theirs.get(), false);
    int our_fd = ours.get();
    conn.attach(std::move(ours));
    m_on_flow(flow_info(conn.tuple()), std::move(theirs));
    pollfd p{our_fd, POLLOUT, 0};
    bool closed = ::poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);  // closed inside the handler
    ok = !closed &&
         m_loop.add(our_fd, util::ev::k_in | util::ev::k_out | util::ev::k_rdhup | util::ev::k_edge, id).has_value();
    if (ok) flow.loop_fd = our_fd;
  }
  if (!ok) {
    ++m_stats.flows_refused;
    conn.abort();
    erase_flow(id);
    return false;
  }
  ++m_stats.flows_accepted;
  return true;
}

void StackImpl::set_phase(uint64_t id, Flow& flow, Phase phase) {
  if (flow.phase == Phase::HalfOpen) m_half_open.erase(id);
  if (flow.phase == Phase::TimeWait) m_time_wait.erase(id);
  if (phase == Phase::HalfOpen) m_half_open.insert(id);
  if (phase == Phase::TimeWait) m_time_wait.insert(id);
  flow.phase = phase;
}

void StackImpl::erase_flow(uint64_t id) {
  auto it = m_flows.find(id);
  if (it == m_flows.end()) return;
  set_phase(id, it->second, Phase::Open);
  if (it->second.scheduled != k_never) m_timers.erase({it->second.scheduled, id});
  if (auto k = m_by_key.find(it->second.key); k != m_by_key.end() && k->second == id) m_by_key.erase(k);
  if (it->second.loop_fd >= 0) m_loop.forget(it->second.loop_fd, id);
  m_flows.erase(it);                   // the conn's destructor closes its fd (and so leaves an epoll set)
  if (m_flows.empty()) m_pool.trim();  // idle: the spare blocks go back to the OS too
}

// Flows the pool refused a block retry once blocks were released, oldest refusal first.
void StackImpl::resume_starved(TimePoint now) {
  if (m_starved.empty() || !m_pool.released_since_check()) return;
  std::vector<uint64_t> ids;
  ids.swap(m_starved);
  for (uint64_t id : ids) {
    auto it = m_flows.find(id);
    if (it == m_flows.end()) continue;
    it->second.in_starved_list = false;
    it->second.conn->resume(now);
    after(id);
  }
}

void StackImpl::fire_timers(TimePoint now) {
  while (!m_timers.empty() && m_timers.begin()->first <= now) {
    uint64_t id = m_timers.begin()->second;
    m_timers.erase(m_timers.begin());
    auto it = m_flows.find(id);
    if (it == m_flows.end()) continue;
    it->second.scheduled = k_never;
    it->second.conn->on_timer(now);
    after(id);
  }
}

void StackImpl::flush_acks() {
  std::vector<uint64_t> ids;
  ids.swap(m_acks);
  for (uint64_t id : ids) {
    auto it = m_flows.find(id);
    if (it == m_flows.end()) continue;
    it->second.in_ack_list = false;
    it->second.conn->flush_ack();
    after(id);
  }
}

}  // namespace net
