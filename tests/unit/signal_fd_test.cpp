// util::SignalFd, built twice: util_tests (Linux: signalfd) and util_posix_tests (the
// sigaction + self-pipe one macOS uses).
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "util/fd.hpp"
#include "util/signal_fd.hpp"

TEST_CASE("signal fd: a raised signal arrives as one record, then none") {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  REQUIRE(::pthread_sigmask(SIG_BLOCK, &set, &old) == 0);  // what every caller does first
  {
    auto fd = util::SignalFd::create(set);
    REQUIRE(fd.has_value());
    CHECK(util::read_signal(fd->fd()) == 0);  // nothing pending, and it does not block
    REQUIRE(::raise(SIGUSR2) == 0);
    pollfd p{fd->fd(), POLLIN, 0};
    REQUIRE(::poll(&p, 1, 5000) == 1);
    CHECK(util::read_signal(fd->fd()) == SIGUSR2);
    CHECK(util::read_signal(fd->fd()) == 0);
  }
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

TEST_CASE("signal fd: records written by a relay read back as signals") {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  util::Fd r(p[0]), w(p[1]);
  REQUIRE(util::set_nonblocking(r.get()).has_value());
  CHECK(util::write_signal(w.get(), SIGWINCH));
  CHECK(util::write_signal(w.get(), SIGINT));
  CHECK(util::read_signal(r.get()) == SIGWINCH);
  CHECK(util::read_signal(r.get()) == SIGINT);
  CHECK(util::read_signal(r.get()) == 0);
}
