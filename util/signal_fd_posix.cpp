// util/signal_fd.hpp on POSIX (macOS): a sigaction handler writes one SignalRecord per signal
// into a non-blocking self-pipe (128 bytes < PIPE_BUF: each write is atomic). The handler
// finds its pipe in a table indexed by signal number: the only global, because a signal
// handler receives no context.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "util/signal_fd.hpp"

namespace util {

namespace {

constexpr int k_max_signal = 64;
std::atomic<int> g_pipe[k_max_signal + 1];  // the pipe's write fd + 1; 0: none
struct sigaction g_old[k_max_signal + 1];

void on_signal(int signo) {
  int saved = errno;
  int fd = signo > 0 && signo <= k_max_signal ? g_pipe[signo].load() - 1 : -1;
  if (fd >= 0) {
    SignalRecord r;
    r.signo = static_cast<uint32_t>(signo);
    [[maybe_unused]] ssize_t n = ::write(fd, &r, sizeof r);  // a full pipe drops the signal
  }
  errno = saved;
}

Result<void> cloexec_nonblocking(int fd) {
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) return sys_error("fcntl (signal pipe)");
  return set_nonblocking(fd);
}

}  // namespace

SignalFd::SignalFd(SignalFd&& o) noexcept
    : m_read(std::move(o.m_read)), m_write(std::move(o.m_write)), m_set(o.m_set), m_handlers(o.m_handlers) {
  o.m_handlers = false;
}

SignalFd& SignalFd::operator=(SignalFd&& o) noexcept {
  if (this != &o) {
    release_handlers();
    m_read = std::move(o.m_read);
    m_write = std::move(o.m_write);
    m_set = o.m_set;
    m_handlers = o.m_handlers;
    o.m_handlers = false;
  }
  return *this;
}

SignalFd::~SignalFd() { release_handlers(); }

void SignalFd::release_handlers() {
  if (!m_handlers) return;
  for (int s = 1; s <= k_max_signal; ++s) {
    if (sigismember(&m_set, s) != 1) continue;
    ::sigaction(s, &g_old[s], nullptr);  // first the old action, then no pipe
    g_pipe[s].store(0);
  }
  m_handlers = false;
}

Result<SignalFd> SignalFd::create(const sigset_t& set) {
  SignalFd s;
  s.m_set = set;
  int p[2];
  if (::pipe(p) < 0) return sys_error("pipe (signals)");
  s.m_read = Fd(p[0]);
  s.m_write = Fd(p[1]);
  ML_TRY(cloexec_nonblocking(s.m_read.get()));
  ML_TRY(cloexec_nonblocking(s.m_write.get()));
  for (int sig = 1; sig <= k_max_signal; ++sig)
    if (sigismember(&set, sig) == 1 && g_pipe[sig].load() != 0)
      return make_error(ErrorCode::Internal, "signal " + std::to_string(sig) + " already has a SignalFd");
  for (int sig = 1; sig <= k_max_signal; ++sig) {
    if (sigismember(&set, sig) != 1) continue;
    g_pipe[sig].store(s.m_write.get() + 1);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (::sigaction(sig, &sa, &g_old[sig]) < 0) return sys_error("sigaction");
    s.m_handlers = true;
  }
  if (int err = ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr); err != 0) return sys_error_code(err, "pthread_sigmask");
  return s;
}

}  // namespace util
