// util/signal_fd.hpp on Linux: signalfd over a set the caller has blocked.
#include <sys/signalfd.h>

#include <cstddef>

#include "util/signal_fd.hpp"

namespace util {

static_assert(sizeof(SignalRecord) == sizeof(signalfd_siginfo) && offsetof(signalfd_siginfo, ssi_signo) == 0);

SignalFd::SignalFd(SignalFd&&) noexcept = default;
SignalFd& SignalFd::operator=(SignalFd&&) noexcept = default;
SignalFd::~SignalFd() = default;
void SignalFd::release_handlers() {}

Result<SignalFd> SignalFd::create(const sigset_t& set) {
  SignalFd s;
  s.m_set = set;
  s.m_read = Fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!s.m_read) return sys_error("signalfd");
  return s;
}

}  // namespace util
