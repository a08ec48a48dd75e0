// Client::exec: pumps the caller's fds to and from one exec channel.
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include "guest/protocol/client_impl.hpp"
#include "guest/protocol/messages.hpp"
#include "util/signal_fd.hpp"

namespace protocol {

using nlohmann::json;

namespace {

constexpr uint32_t k_credit_batch = 16 << 10;

// Blocks SIGPIPE in this thread for the pump's lifetime so a closed stdout
// gives EPIPE instead of killing the host process.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &s, &m_old);
  }
  ~SigpipeBlock() {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    timespec zero{};
    while (sigtimedwait(&s, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t m_old;
};

struct Pending {
  StreamId stream;
  std::string bytes;
  size_t off = 0;
};

// One exec's pump: the channel's output to the caller's fds under credit, stdin and signals
// to the channel. Each step is one method; run() is the poll loop that calls them.
class ExecPump {
 public:
  ExecPump(std::shared_ptr<Client::Impl> impl, std::shared_ptr<ChannelState> st, const ExecIo& io)
      : m_ch(std::move(impl), std::move(st)), m_io(io), m_buf(k_data_chunk, '\0') {
    m_stdin_open = io.stdin_fd >= 0;
    if (!m_stdin_open) m_ch.send_eof(StreamId::In);
  }

  // Until the channel closed and its output is written (or discarded); then its result.
  util::Result<json> run(const std::string& what) {
    for (;;) {
      ML_TRY(take_inbound(what));
      discard_unwanted();
      grant_due();
      if (m_closed && m_pending.empty()) break;
      ML_TRY(poll_once());
    }
    std::lock_guard lock(m_ch.mu());
    m_ch.set_done();
    return ML_TRY_CTX(m_ch.result_locked(), what);
  }

 private:
  int fd_for(StreamId s) const { return s == StreamId::Err ? m_io.stderr_fd : m_io.stdout_fd; }
  bool& broken(StreamId s) { return s == StreamId::Err ? m_err_broken : m_out_broken; }

  // Moves what the channel received into m_pending; reads closed/credit under the lock.
  util::Result<void> take_inbound(const std::string& what) {
    std::lock_guard lock(m_ch.mu());
    ChannelState& st = m_ch.state();
    while (!st.inbound.empty()) {
      m_pending.push_back({st.inbound.front().first, std::move(st.inbound.front().second)});
      st.inbound.pop_front();
    }
    m_closed = st.closed;
    m_credit = st.send_credit;
    if (!m_closed && !m_ch.impl().connected) return m_ch.impl().disconnected_error().context(what);
    return util::ok();
  }

  // Output nobody wants (no fd, or a broken pipe) is credited back right away.
  void discard_unwanted() {
    while (!m_pending.empty()) {
      Pending& p = m_pending.front();
      if (fd_for(p.stream) >= 0 && !broken(p.stream)) break;
      m_to_grant += static_cast<uint32_t>(p.bytes.size() - p.off);
      m_pending.pop_front();
    }
  }

  void grant_due() {
    if (m_to_grant >= k_credit_batch || (m_pending.empty() && m_to_grant > 0)) {
      m_ch.grant(m_to_grant);
      m_to_grant = 0;
    }
  }

  util::Result<void> poll_once() {
    pollfd p[4];
    int n = 0;
    p[n++] = {m_ch.wake_fd(), POLLIN, 0};
    int stdin_idx = -1, out_idx = -1, sig_idx = -1;
    if (m_stdin_open && m_credit > 0 && !m_closed) {
      stdin_idx = n;
      p[n++] = {m_io.stdin_fd, POLLIN, 0};
    }
    if (!m_pending.empty()) {
      out_idx = n;
      p[n++] = {fd_for(m_pending.front().stream), POLLOUT, 0};
    }
    if (m_io.signal_fd >= 0 && !m_closed) {
      sig_idx = n;
      p[n++] = {m_io.signal_fd, POLLIN, 0};
    }
    if (::poll(p, static_cast<nfds_t>(n), -1) < 0) return errno == EINTR ? util::ok() : util::sys_error("poll");
    if (p[0].revents) m_ch.drain_wake();
    if (stdin_idx >= 0 && p[stdin_idx].revents) pump_stdin();
    if (out_idx >= 0 && p[out_idx].revents) pump_output(p[out_idx].fd);
    if (sig_idx >= 0 && p[sig_idx].revents) forward_signal();
    return util::ok();
  }

  void pump_stdin() {
    size_t want = std::min<size_t>(m_credit, k_data_chunk);
    ssize_t r = util::retry_eintr([&] { return ::read(m_io.stdin_fd, m_buf.data(), want); });
    if (r > 0) {
      m_ch.send_data(StreamId::In, std::string_view(m_buf.data(), static_cast<size_t>(r)));
    } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
      m_stdin_open = false;  // EOF, or EIO from a hung-up terminal
      m_ch.send_eof(StreamId::In);
    }
  }

  void pump_output(int fd) {
    Pending& front = m_pending.front();
    ssize_t w =
        util::retry_eintr([&] { return ::write(fd, front.bytes.data() + front.off, front.bytes.size() - front.off); });
    if (w > 0) {
      front.off += static_cast<size_t>(w);
      m_to_grant += static_cast<uint32_t>(w);
      if (front.off == front.bytes.size()) m_pending.pop_front();
    } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      // EPIPE etc.: discard the rest and close the guest's end too, so the
      // process sees EPIPE/SIGPIPE like in a local pipeline (`yes | head -1`).
      broken(front.stream) = true;
      m_ch.send_control(json{{"op", "close_output"}, {"stream", static_cast<int>(front.stream)}});
    }
  }

  // A signal the caller forwards: SIGWINCH becomes a resize, anything else a signal.
  void forward_signal() {
    int signo = util::read_signal(m_io.signal_fd);  // a util::SignalRecord
    if (!signo) return;
    if (signo == SIGWINCH) {
      winsize ws{};
      if (m_io.winsize_fd >= 0 && ::ioctl(m_io.winsize_fd, TIOCGWINSZ, &ws) == 0)
        m_ch.send_control(json{{"op", "resize"}, {"rows", ws.ws_row}, {"cols", ws.ws_col}});
    } else {
      m_ch.send_control(json{{"op", "signal"}, {"signal", signo}});
    }
  }

  ChannelHandle m_ch;
  const ExecIo& m_io;
  std::string m_buf;
  std::deque<Pending> m_pending;
  bool m_stdin_open = false, m_out_broken = false, m_err_broken = false, m_closed = false;
  uint32_t m_credit = 0, m_to_grant = 0;
};

}  // namespace

util::Result<ExecResult> Client::exec(const ExecRequest& request, const ExecIo& io) {
  if (request.argv.empty()) return util::make_error(util::ErrorCode::Usage, "exec: empty argv");
  SigpipeBlock sigpipe;
  std::shared_ptr<Impl> impl = m_impl;  // stays valid even if the Client is destroyed meanwhile
  auto st = ML_TRY(impl->open_channel(exec_to_json(request)));
  const std::string what = "exec " + request.argv[0];
  json j = ML_TRY(ExecPump(impl, st, io).run(what));
  return ML_TRY_CTX(exec_result_from_json(j), what);
}

}  // namespace protocol
