#include "engine/run_tty.hpp"

#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace engine {

util::Result<RawTerminal> RawTerminal::enter(int fd) {
  RawTerminal t;
  if (!::isatty(fd)) return t;
  if (::tcgetattr(fd, &t.m_saved) < 0) return util::sys_error("tcgetattr");
  termios raw = t.m_saved;
  ::cfmakeraw(&raw);
  if (::tcsetattr(fd, TCSANOW, &raw) < 0) return util::sys_error("tcsetattr");
  t.m_fd = fd;
  return t;
}

RawTerminal::~RawTerminal() {
  if (m_fd >= 0) ::tcsetattr(m_fd, TCSANOW, &m_saved);
}

std::optional<WindowSize> window_size(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0 || ws.ws_col == 0) return std::nullopt;
  return WindowSize{ws.ws_row, ws.ws_col};
}

namespace {
sigset_t forwarded_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH}) sigaddset(&set, s);
  return set;
}
}  // namespace

util::Result<ForwardedSignals> ForwardedSignals::block() {
  ForwardedSignals f;
  sigset_t set = forwarded_set();
  if (int err = ::pthread_sigmask(SIG_BLOCK, &set, &f.m_old); err != 0)
    return util::sys_error_code(err, "pthread_sigmask");
  f.m_active = true;
  f.m_fd = ML_TRY(util::SignalFd::create(set));
  return f;
}

ForwardedSignals::ForwardedSignals(ForwardedSignals&& other) noexcept
    : m_fd(std::move(other.m_fd)), m_old(other.m_old), m_active(other.m_active) {
  other.m_active = false;
}

ForwardedSignals::~ForwardedSignals() {
  if (m_fd) (void)take_pending_stop();  // drained, so restoring the mask does not kill us
  if (m_active) ::pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
}

int ForwardedSignals::take_pending_stop() {
  int stop = 0;
  while (int signo = util::read_signal(m_fd.fd())) {
    if (signo != SIGWINCH && stop == 0) stop = signo;
  }
  return stop;
}

}  // namespace engine
