// Exec channel (guest side): pumps host stdin into the process, its stdout /
// stderr (or pty) out under credit, forwards signals and resizes, and reports
// the exit status once the process is gone and its output drained.
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "guest/protocol/guest_channel.hpp"
#include "guest/protocol/messages.hpp"
#include "guest/protocol/spawn.hpp"

namespace protocol {

using nlohmann::json;

namespace {

class ExecChannel : public GuestChannel {
 public:
  ExecChannel(ChannelLink link, SpawnedProcess proc, bool tty)
      : GuestChannel(link), m_proc(std::move(proc)), m_tty(tty) {
    m_out[0] = tty ? m_proc.stdin_w.get() : m_proc.stdout_r.get();
    m_out[1] = tty ? -1 : m_proc.stderr_r.get();
  }
  // ~ExecChannel: m_proc.process kills and reaps a process still running.

  pid_t pid() const override { return m_proc.process.pid(); }

  void on_data(StreamId stream, std::string_view bytes) override {
    if (stream != StreamId::In || m_in_closed) {
      link().grant(static_cast<uint32_t>(bytes.size()));
      return;
    }
    m_in.append(bytes);
  }

  void on_eof(StreamId stream) override {
    if (stream == StreamId::In) m_in_eof = true;
  }

  void on_control(const json& j) override {
    auto c = exec_control_from_json(j);
    if (!c) return;  // malformed (a wrong type, out of range): ignored like an unknown op
    if (c->op == "signal") {
      if (c->signal > 0 && c->signal < NSIG) m_proc.process.signal_group(c->signal);
    } else if (c->op == "close_output" && !m_tty) {
      int i = c->stream == StreamId::Err ? 1 : 0;
      if (m_out[i] >= 0) {
        (i == 0 ? m_proc.stdout_r : m_proc.stderr_r).reset();
        m_out[i] = -1;
      }
    } else if (c->op == "resize" && m_tty) {
      winsize ws{};
      ws.ws_row = c->rows;
      ws.ws_col = c->cols;
      ::ioctl(m_proc.stdin_w.get(), TIOCSWINSZ, &ws);
    }
  }

  void on_abort() override {
    m_proc.process.signal_group(SIGKILL);
    m_aborted = true;
  }

  void on_exit(int status) override {
    m_exited = true;
    m_exit_time = std::chrono::steady_clock::now();
    m_status = status;
    m_proc.process.reaped();
  }

  void poll_fds(std::vector<pollfd>& out) override {
    bool can_send = link().send_budget() > 0;
    out.push_back({m_proc.process.pidfd(), POLLIN, 0});
    short in_events = !m_in.empty() && !m_in_closed ? POLLOUT : 0;
    if (m_tty) {
      short ev = static_cast<short>(in_events | (can_send && m_out[0] >= 0 ? POLLIN : 0));
      out.push_back({ev ? m_proc.stdin_w.get() : -1, ev, 0});
      out.push_back({-1, 0, 0});
    } else {
      out.push_back({in_events && m_proc.stdin_w ? m_proc.stdin_w.get() : -1, POLLOUT, 0});
      out.push_back({can_send ? m_out[0] : -1, POLLIN, 0});
    }
    out.push_back({can_send ? m_out[1] : -1, POLLIN, 0});
  }

  // A pty delivers the slave's last output asynchronously; EIO marks the real
  // end, so after exit wait a little for it before declaring the pty drained.
  bool busy() const override { return m_exited && !m_tty && (m_out[0] >= 0 || m_out[1] >= 0) && link_budget() > 0; }
  int wake_after_ms() const override { return m_exited && m_tty && m_out[0] >= 0 ? 20 : -1; }

  void step(std::span<const pollfd> fds) override {
    if (fds[0].revents && !m_exited) reap();
    write_stdin();
    // After the process exited, an empty pipe counts as drained: a background
    // grandchild holding it open must not keep the exec alive.
    for (int i = 0; i < 2; ++i) {
      if (m_out[i] < 0) continue;
      bool ready = m_tty ? (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) : fds[2 + i].revents;
      if (ready || m_exited) pump_out(i);
    }
    maybe_finish();
  }

 private:
  size_t link_budget() const { return const_cast<ExecChannel*>(this)->link().send_budget(); }

  bool tty_grace_over() const {
    return std::chrono::steady_clock::now() - m_exit_time > std::chrono::milliseconds(200);
  }

  void reap() {
    if (auto st = m_proc.process.try_reap()) on_exit(*st);
  }

  void write_stdin() {
    if (m_in_closed) return;
    int fd = m_proc.stdin_w.get();
    while (!m_in.empty()) {
      ssize_t w = ::write(fd, m_in.data(), m_in.size());
      if (w > 0) {
        link().grant(static_cast<uint32_t>(w));
        m_in.erase(0, static_cast<size_t>(w));
        continue;
      }
      if (w < 0 && (errno == EAGAIN || errno == EINTR)) return;
      // EPIPE: the process closed stdin; drop what is left.
      link().grant(static_cast<uint32_t>(m_in.size()));
      m_in.clear();
      close_stdin();
      return;
    }
    if (m_in_eof) close_stdin();
  }

  void close_stdin() {
    if (m_in_closed) return;
    m_in_closed = true;
    if (!m_tty) {
      m_proc.stdin_w.reset();
    } else {
      // The master also carries the output, so it stays open; the terminal's
      // EOF character makes a canonical-mode reader see end of input, as when
      // a user types Ctrl-D (`printf 'x\n' | matchlock run -t cat` ends).
      ssize_t r = ::write(m_proc.stdin_w.get(), "\x04", 1);
      (void)r;
    }
  }

  void pump_out(int i) {
    StreamId stream = i == 0 ? StreamId::Out : StreamId::Err;
    char buf[k_data_chunk];
    for (;;) {
      size_t budget = link().send_budget();
      if (budget == 0) return;
      ssize_t r = ::read(m_out[i], buf, budget);
      if (r > 0) {
        link().send_data(stream, std::string_view(buf, static_cast<size_t>(r)));
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && errno == EAGAIN && (!m_exited || (m_tty && !tty_grace_over()))) return;
      // EOF, EIO (pty without slave), or empty after exit.
      link().send_eof(stream);
      if (!m_tty) (i == 0 ? m_proc.stdout_r : m_proc.stderr_r).reset();
      m_out[i] = -1;
      return;
    }
  }

  void maybe_finish() {
    if (!m_exited || m_out[0] >= 0 || m_out[1] >= 0 || link().closed()) return;
    int code = WIFEXITED(m_status) ? WEXITSTATUS(m_status) : 0;
    int sig = WIFSIGNALED(m_status) ? WTERMSIG(m_status) : 0;
    link().send_control(json{{"op", "exit"}, {"code", code}, {"signal", sig}});
    link().close();
  }

  SpawnedProcess m_proc;
  bool m_tty;
  int m_out[2];
  std::string m_in;
  bool m_in_eof = false, m_in_closed = false;
  bool m_exited = false, m_aborted = false;
  int m_status = 0;
  std::chrono::steady_clock::time_point m_exit_time;
};

}  // namespace

std::unique_ptr<GuestChannel> make_exec_channel(ChannelLink link, const ExecRequest& request,
                                                const GuestContext& context) {
  const ExecRequest* req = &request;
  SwitchUser sw = req->user.empty() ? SwitchUser::No : SwitchUser::Yes;
  auto user = resolve_user_in(req->user.empty() ? std::to_string(::getuid()) : req->user, context.root);
  if (!user) return make_failed_channel(link, user.error().message(), "not_found");
  auto env = default_env(req->env, *user, req->tty);
  auto proc = spawn_exec(*req, env, *user, sw);
  if (!proc) return make_failed_channel(link, proc.error().message());
  return std::make_unique<ExecChannel>(link, std::move(*proc), req->tty);
}

}  // namespace protocol
