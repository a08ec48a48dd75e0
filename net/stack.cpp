// net::Stack: the public owner (thread) and the loop of StackImpl.
#include "net/stack.hpp"

#include <algorithm>

#include "net/stack_impl.hpp"

namespace net {

StackImpl::StackImpl(StackConfig config, std::unique_ptr<FrameLink> link, std::shared_ptr<NameMap> names,
                     FlowHandler on_flow, util::EventLoop loop)
    : m_config(std::move(config)),
      m_link(std::move(link)),
      m_names(std::move(names)),
      m_on_flow(std::move(on_flow)),
      m_loop(std::move(loop)),
      m_dns(m_names, m_config.name_allowed, m_config.dns_ttl),
      m_out(std::make_unique_for_overwrite<uint8_t[]>(k_max_frame)),
      m_rng(std::random_device{}()),
      m_pool(m_config.buffer_budget, m_config.buffer_reserve) {
  std::copy(std::begin(m_config.gateway_mac), std::end(m_config.gateway_mac), m_gateway_mac.begin());
}

StackImpl::~StackImpl() {
  for (auto& [id, flow] : m_flows) flow.conn->abort();
}

void StackImpl::request_stop() {
  m_stop = true;
  m_loop.wake();
}

StackStats StackImpl::stats() const {
  StackStats s;
  s.frames_in = m_stats.frames_in;
  s.frames_out = m_stats.frames_out;
  s.frames_dropped = m_stats.frames_dropped;
  s.flows_accepted = m_stats.flows_accepted;
  s.flows_refused = m_stats.flows_refused;
  s.retransmits = m_stats.retransmits;
  s.syn_cookies_sent = m_stats.syn_cookies_sent;
  s.syn_cookies_accepted = m_stats.syn_cookies_accepted;
  s.open_flows = m_stats.open_flows;
  s.half_open = m_stats.half_open;
  s.buffered_bytes = m_stats.buffered_bytes;
  s.dns_queries = m_dns_queries;
  s.dns_allowed = m_dns_allowed;
  s.dns_denied = m_dns_denied;
  return s;
}

util::Result<void> StackImpl::run() {
  ML_TRY_CTX(m_loop.add(m_link->fd(), util::ev::k_in, k_link_token), "stack");
  m_link_registered = true;
  std::vector<util::Event> events(256);
  constexpr int k_frame_budget = 512;
  while (!m_stop) {
    int timeout = -1;
    if (!m_timers.empty()) {
      auto wait = m_timers.begin()->first - Clock::now();
      timeout = static_cast<int>(
          std::clamp<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count() + 1, 0, 60'000));
    }
    size_t n = ML_TRY_CTX(m_loop.wait(events, timeout), "stack");
    for (size_t i = 0; i < n; ++i) {
      uint64_t token = events[i].token;
      uint32_t ev = events[i].events;
      if (token == util::EventLoop::k_wake_token) {
        m_loop.drain_wake();
      } else if (token == k_link_token) {
        if (ev & util::ev::k_out) ML_TRY_CTX(m_link->flush(), "stack");
        if (ev & (util::ev::k_in | util::ev::k_hup | util::ev::k_err)) {
          for (int k = 0; k < k_frame_budget; ++k) {
            bool got = ML_TRY_CTX(m_link->read_frame(m_in), "stack");
            if (!got) break;
            input_frame(m_in, Clock::now());
          }
        }
      } else {
        flow_event(token, ev, Clock::now());
      }
    }
    ML_TRY(housekeeping(Clock::now()));
  }
  return util::ok();
}

void StackImpl::input_frame(std::span<const uint8_t> frame, TimePoint now) {
  m_now = now;
  ++m_stats.frames_in;
  handle_frame(frame);
}

void StackImpl::flow_event(uint64_t id, uint32_t events, TimePoint now) {
  auto it = m_flows.find(id);
  if (it == m_flows.end()) return;
  it->second.conn->on_fd_event(events, now);
  after(id);
}

util::Result<void> StackImpl::housekeeping(TimePoint now) {
  fire_timers(now);
  resume_starved(now);
  flush_acks();
  bool want = m_link_registered && m_link->wants_write();
  if (want != m_link_out_registered) {
    ML_TRY_CTX(m_loop.modify(m_link->fd(), util::ev::k_in | (want ? util::ev::k_out : 0u), k_link_token), "stack");
    m_link_out_registered = want;
  }
  publish_stats();
  return util::ok();
}

util::Result<void> StackImpl::poll(TimePoint now) {
  std::vector<util::Event> events(64);
  size_t n = ML_TRY_CTX(m_loop.wait(events, 0), "stack");
  for (size_t i = 0; i < n; ++i) {
    uint64_t token = events[i].token;
    if (token == util::EventLoop::k_wake_token)
      m_loop.drain_wake();
    else if (token != k_link_token)
      flow_event(token, events[i].events, now);
  }
  return housekeeping(now);
}

void StackImpl::publish_stats() {
  auto d = m_dns.stats();
  m_dns_queries = d.queries;
  m_dns_allowed = d.allowed;
  m_dns_denied = d.denied;
  m_stats.open_flows = m_flows.size() - m_time_wait.size();
  m_stats.half_open = m_half_open.size();
  m_stats.buffered_bytes = m_pool.bytes_in_use();
}

util::Result<std::unique_ptr<Stack>> Stack::create(StackConfig config, std::unique_ptr<FrameLink> link,
                                                   std::shared_ptr<NameMap> names, FlowHandler on_flow) {
  if (!link) return util::make_error(util::ErrorCode::Internal, "stack: no link");
  if (config.mtu < 576 || config.mtu > 65520)
    return util::make_error(util::ErrorCode::Config,
                            "stack: MTU " + std::to_string(config.mtu) + " outside 576..65520");
  if (config.prefix < 8 || config.prefix > 30)
    return util::make_error(util::ErrorCode::Config,
                            "stack: prefix /" + std::to_string(config.prefix) + " outside /8../30");
  if (config.flow_buffer < 65536) config.flow_buffer = 65536;
  if (!names) names = std::make_shared<NameMap>();
  auto loop = ML_TRY_CTX(util::EventLoop::create(), "stack");
  std::unique_ptr<Stack> stack(new Stack());
  stack->m_impl = std::make_unique<StackImpl>(std::move(config), std::move(link), std::move(names), std::move(on_flow),
                                              std::move(loop));
  return stack;
}

Stack::~Stack() { stop(); }

util::Result<void> Stack::start() {
  if (m_thread.joinable()) return util::make_error(util::ErrorCode::Internal, "stack: already started");
  m_thread = std::thread([this] { m_result = m_impl->run(); });
  return util::ok();
}

void Stack::stop() {
  if (!m_impl) return;
  m_impl->request_stop();
  if (m_thread.joinable()) m_thread.join();
}

util::Result<void> Stack::wait() {
  if (m_thread.joinable()) m_thread.join();
  return m_result;
}

StackStats Stack::stats() const { return m_impl->stats(); }

}  // namespace net
