// TcpConn: the socketpair side. Edge-triggered: readiness is remembered in m_can_read /
// m_can_write and cleared on EAGAIN, so ring space freed by an ACK resumes reading at once.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/tcp_conn.hpp"
#include "util/event_loop.hpp"
#include "util/descriptors.hpp"

namespace net {

void TcpConn::on_fd_event(uint32_t events, TimePoint now) {
  if (events & (util::ev::k_in | util::ev::k_hup | util::ev::k_rdhup | util::ev::k_err)) m_can_read = true;
  if (events & (util::ev::k_out | util::ev::k_hup | util::ev::k_err)) m_can_write = true;
  pump_fd(now);
  output(now);
}

void TcpConn::pump_fd(TimePoint now) {
  if (!m_fd) return;
  drain_recv();
  if (m_state != TcpState::Closed) fill_send(now);
}

// Guest -> socketpair.
void TcpConn::drain_recv() {
  if (!m_fd) return;
  uint64_t before = m_recv.free();
  while (!m_recv.empty() && m_can_write) {
    auto chunk = m_recv.peek();
    ssize_t n =
        util::retry_eintr([&] { return util::send_nosignal(m_fd.get(), chunk.data(), chunk.size(), MSG_DONTWAIT); });
    if (n < 0) {
      if (errno == EAGAIN) {
        m_can_write = false;
        break;
      }
      reset_and_close(true);  // EPIPE/ECONNRESET: the flow's owner is gone
      return;
    }
    m_recv.consume(static_cast<size_t>(n));
  }
  if (m_recv.empty() && m_fin_received && !m_fd_shut) {
    ::shutdown(m_fd.get(), SHUT_WR);
    m_fd_shut = true;
  }
  if (m_recv.empty() && m_state == TcpState::TimeWait) {
    close_fd();
    return;
  }
  // Window update once a meaningful amount of space opened since the last advertisement.
  uint64_t free_now = m_recv.free();
  if (free_now > before && m_state != TcpState::SynReceived) {
    uint64_t step = std::max<uint64_t>(2 * uint64_t{m_mss}, m_recv.capacity() / 4);
    if (free_now >= m_last_adv + step || (m_last_adv < m_mss && free_now >= m_mss)) m_ack_pending = true;
  }
}

// Socketpair -> send ring (sent by output()).
void TcpConn::fill_send(TimePoint) {
  while (m_can_read && !m_fd_eof) {
    auto space = m_send.tail_space();
    if (space.empty()) {  // backpressure: resumes when the guest ACKs, or when the pool has blocks again
      if (m_send.starved()) m_pool_limited = true;
      return;
    }
    ssize_t n = util::retry_eintr([&] { return ::recv(m_fd.get(), space.data(), space.size(), MSG_DONTWAIT); });
    if (n > 0) {
      m_send.commit(static_cast<size_t>(n));
      m_bytes_from_fd += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EAGAIN) {
      m_can_read = false;
      return;
    }
    if (n < 0) {  // ECONNRESET: closed with unread data
      reset_and_close(true);
      return;
    }
    m_fd_eof = true;
    if (m_bytes_from_fd == 0 && !m_fin_received) {
      // Closed without a byte: a refusal if the owner closed fully (not just SHUT_WR).
      pollfd p{m_fd.get(), POLLOUT, 0};
      if (::poll(&p, 1, 0) == 1 && (p.revents & POLLHUP)) {
        reset_and_close(true);
        return;
      }
    }
  }
}

void TcpConn::reset_and_close(bool send_rst) {
  if (m_state == TcpState::Closed) return;
  if (send_rst && m_state != TcpState::TimeWait) send(tcp_flag::k_rst | tcp_flag::k_ack, m_snd_nxt);
  m_state = TcpState::Closed;
  m_rto_at = m_persist_at = m_close_at = k_never;
  m_ack_pending = false;
  m_pool_limited = false;
  close_fd();
  m_send.release();
  m_recv.release();
  drop_ooo();
}

uint32_t TcpConn::fd_waiting() const {
  return (m_can_read ? 0u : util::ev::k_in) | (m_can_write ? 0u : util::ev::k_out);
}

void TcpConn::close_fd() {
  m_fd.reset();
  m_can_read = m_can_write = false;
}

}  // namespace net
