// SignalFd: signals received as fixed-size records read from an fd, so a poll loop waits for
// them beside its other fds. Two implementations (docs/ARCHITECTURE.md, "Platform layer"):
// Linux's signalfd (signal_fd_linux.cpp: the caller blocks the set first, in every thread);
// POSIX (macOS) a self-pipe written by a sigaction handler (signal_fd_posix.cpp: create()
// unblocks the set in the calling thread, and the previous actions come back on destruction;
// one SignalFd per signal at a time).
#pragma once

#include <signal.h>

#include <cstdint>

#include "util/fd.hpp"

namespace util {

// One record per signal: the layout of Linux's signalfd_siginfo (the signal number first,
// 128 bytes), also what an exec relay writes into its pipe.
struct SignalRecord {
  uint32_t signo = 0;
  uint8_t rest[124] = {};
};
static_assert(sizeof(SignalRecord) == 128);

class SignalFd {
 public:
  static Result<SignalFd> create(const sigset_t& set);
  SignalFd() = default;  // owns nothing
  SignalFd(SignalFd&&) noexcept;
  SignalFd& operator=(SignalFd&&) noexcept;
  SignalFd(const SignalFd&) = delete;
  SignalFd& operator=(const SignalFd&) = delete;
  ~SignalFd();

  int fd() const { return m_read.get(); }
  explicit operator bool() const { return m_read.valid(); }

 private:
  void release_handlers();
  Fd m_read;
  Fd m_write;  // POSIX: the handler's end of the pipe
  sigset_t m_set{};
  bool m_handlers = false;
};

// The next record's signal from FD (non-blocking), 0 when none is pending.
int read_signal(int fd);
// Appends a record for SIGNO to FD (a pipe read with read_signal). False when it did not fit.
bool write_signal(int fd, int signo);

}  // namespace util
