// StackImpl: TCP demultiplexing, flow creation (socketpair + FlowHandler), timers, segment output.
#include <poll.h>
#include <sys/socket.h>

#include <cstring>

#include "net/stack_impl.hpp"

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
      conn.on_segment(*seg, Clock::now());
      after(id);
      return;
    }
  }
  if (pure_syn) return open_flow(tuple, *seg, key);
  if (!seg->has(tcp_flag::k_rst)) send_reset_for(tuple, *seg);
}

void StackImpl::open_flow(const TcpTuple& tuple, const TcpSegment& syn, uint64_t key) {
  if (m_flows.size() >= m_config.max_flows || !m_on_flow || tuple.dst_port == 0) {
    ++m_stats.flows_refused;
    return send_reset_for(tuple, syn);
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0) {
    ++m_stats.flows_refused;
    return send_reset_for(tuple, syn);
  }
  util::Fd ours(pair[0]);
  util::Fd theirs(pair[1]);
  (void)util::set_nonblocking(theirs.get(), false);
  uint64_t id = m_next_id++;
  TcpParams params{m_config.mtu, m_config.flow_buffer};
  auto conn = std::make_unique<TcpConn>(*this, tuple, params, syn, static_cast<uint32_t>(m_rng()), Clock::now());
  FlowInfo info{tuple.guest_ip, tuple.guest_port, tuple.dst_ip, tuple.dst_port, {}};
  if (m_names->is_synthetic(tuple.dst_ip)) info.dst_name = m_names->name_for(tuple.dst_ip).value_or("");
  int our_fd = ours.get();
  conn->attach(std::move(ours));
  m_on_flow(info, std::move(theirs));
  pollfd p{our_fd, POLLOUT, 0};
  if (::poll(&p, 1, 0) == 1 && (p.revents & POLLHUP)) {  // closed inside the handler: refused
    ++m_stats.flows_refused;
    conn->refuse();
    return;
  }
  if (auto r = m_loop.add(our_fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, id); !r) {
    ++m_stats.flows_refused;
    conn->refuse();
    return;
  }
  ++m_stats.flows_accepted;
  conn->send_syn_ack();
  m_flows.emplace(id, Flow{std::move(conn), key});
  m_by_key[key] = id;
  after(id);
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
  send_tcp(tuple, h, {}, {});
}

void StackImpl::send_segment(const TcpConn& conn, const TcpHeaderOut& header, std::span<const uint8_t> part1,
                             std::span<const uint8_t> part2) {
  send_tcp(conn.tuple(), header, part1, part2);
}

void StackImpl::send_tcp(const TcpTuple& tuple, const TcpHeaderOut& header, std::span<const uint8_t> part1,
                         std::span<const uint8_t> part2) {
  size_t hl = tcp_header_length(header);
  uint8_t* o = m_out.data() + k_l4_offset;
  size_t payload = part1.size() + part2.size();
  if (k_l4_offset + hl + payload > m_out.size()) return;
  if (!part1.empty()) std::memcpy(o + hl, part1.data(), part1.size());
  if (!part2.empty()) std::memcpy(o + hl + part1.size(), part2.data(), part2.size());
  write_tcp_header(o, header, tuple.dst_ip, tuple.guest_ip, payload);
  emit_ipv4(tuple.dst_ip, tuple.guest_ip, IpProtocol::Tcp, hl + payload);
}

// Re-files a flow after anything touched it: timer, pending ACK, or removal once closed.
void StackImpl::after(uint64_t id) {
  auto it = m_flows.find(id);
  if (it == m_flows.end()) return;
  Flow& flow = it->second;
  if (flow.conn->closed()) return erase_flow(id);
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

void StackImpl::erase_flow(uint64_t id) {
  auto it = m_flows.find(id);
  if (it == m_flows.end()) return;
  if (it->second.scheduled != k_never) m_timers.erase({it->second.scheduled, id});
  if (auto k = m_by_key.find(it->second.key); k != m_by_key.end() && k->second == id) m_by_key.erase(k);
  m_flows.erase(it);  // the conn's destructor closes its fd (and so leaves the epoll set)
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
