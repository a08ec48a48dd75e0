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

}  // namespace

util::Result<ExecResult> Client::exec(const ExecRequest& request, const ExecIo& io) {
  if (request.argv.empty()) return util::make_error(util::ErrorCode::Usage, "exec: empty argv");
  SigpipeBlock sigpipe;
  std::shared_ptr<Impl> impl = m_impl;  // stays valid even if the Client is destroyed meanwhile
  auto st = ML_TRY(impl->open_channel(exec_to_json(request)));
  ChannelHandle ch(impl, st);
  bool stdin_open = io.stdin_fd >= 0;
  if (!stdin_open) ch.send_eof(StreamId::In);
  bool out_broken = false, err_broken = false;
  std::deque<Pending> pending;
  uint32_t to_grant = 0;
  std::string buf(k_data_chunk, '\0');
  for (;;) {
    uint32_t credit;
    bool closed;
    {
      std::lock_guard lock(ch.mu());
      while (!st->inbound.empty()) {
        pending.push_back({st->inbound.front().first, std::move(st->inbound.front().second)});
        st->inbound.pop_front();
      }
      closed = st->closed;
      credit = st->send_credit;
      if (!closed && !impl->connected) return impl->disconnected_error().context("exec " + request.argv[0]);
    }
    // Discard output nobody wants right away.
    while (!pending.empty()) {
      Pending& p = pending.front();
      int fd = p.stream == StreamId::Err ? io.stderr_fd : io.stdout_fd;
      bool broken = p.stream == StreamId::Err ? err_broken : out_broken;
      if (fd >= 0 && !broken) break;
      to_grant += static_cast<uint32_t>(p.bytes.size() - p.off);
      pending.pop_front();
    }
    if (to_grant >= k_credit_batch || (pending.empty() && to_grant > 0)) {
      ch.grant(to_grant);
      to_grant = 0;
    }
    if (closed && pending.empty()) break;

    pollfd p[4];
    int n = 0;
    p[n++] = {ch.wake_fd(), POLLIN, 0};
    int stdin_idx = -1, out_idx = -1, sig_idx = -1;
    if (stdin_open && credit > 0 && !closed) {
      stdin_idx = n;
      p[n++] = {io.stdin_fd, POLLIN, 0};
    }
    if (!pending.empty()) {
      out_idx = n;
      p[n++] = {pending.front().stream == StreamId::Err ? io.stderr_fd : io.stdout_fd, POLLOUT, 0};
    }
    if (io.signal_fd >= 0 && !closed) {
      sig_idx = n;
      p[n++] = {io.signal_fd, POLLIN, 0};
    }
    if (::poll(p, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      return util::sys_error("poll");
    }
    if (p[0].revents) ch.drain_wake();
    if (stdin_idx >= 0 && p[stdin_idx].revents) {
      size_t want = std::min<size_t>(credit, k_data_chunk);
      ssize_t r = util::retry_eintr([&] { return ::read(io.stdin_fd, buf.data(), want); });
      if (r > 0) {
        ch.send_data(StreamId::In, std::string_view(buf.data(), static_cast<size_t>(r)));
      } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        stdin_open = false;  // EOF, or EIO from a hung-up terminal
        ch.send_eof(StreamId::In);
      }
    }
    if (out_idx >= 0 && p[out_idx].revents) {
      Pending& front = pending.front();
      int fd = p[out_idx].fd;
      ssize_t w = util::retry_eintr(
          [&] { return ::write(fd, front.bytes.data() + front.off, front.bytes.size() - front.off); });
      if (w > 0) {
        front.off += static_cast<size_t>(w);
        to_grant += static_cast<uint32_t>(w);
        if (front.off == front.bytes.size()) pending.pop_front();
      } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        // EPIPE etc.: discard the rest and close the guest's end too, so the
        // process sees EPIPE/SIGPIPE like in a local pipeline (`yes | head -1`).
        (front.stream == StreamId::Err ? err_broken : out_broken) = true;
        ch.send_control(json{{"op", "close_output"}, {"stream", static_cast<int>(front.stream)}});
      }
    }
    if (sig_idx >= 0 && p[sig_idx].revents) {
      if (int signo = util::read_signal(io.signal_fd)) {  // a util::SignalRecord
        if (signo == SIGWINCH) {
          winsize ws{};
          if (io.winsize_fd >= 0 && ::ioctl(io.winsize_fd, TIOCGWINSZ, &ws) == 0)
            ch.send_control(json{{"op", "resize"}, {"rows", ws.ws_row}, {"cols", ws.ws_col}});
        } else {
          ch.send_control(json{{"op", "signal"}, {"signal", signo}});
        }
      }
    }
  }
  std::lock_guard lock(ch.mu());
  ch.set_done();
  json j = ML_TRY_CTX(ch.result_locked(), "exec " + request.argv[0]);
  return ML_TRY_CTX(exec_result_from_json(j), "exec " + request.argv[0]);
}

}  // namespace protocol
