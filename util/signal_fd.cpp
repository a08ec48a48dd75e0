// util/signal_fd.hpp: the record reader and writer both implementations share.
#include <unistd.h>

#include "util/signal_fd.hpp"

namespace util {

int read_signal(int fd) {
  SignalRecord r;
  ssize_t n = retry_eintr([&] { return ::read(fd, &r, sizeof r); });
  return n == static_cast<ssize_t>(sizeof r) ? static_cast<int>(r.signo) : 0;
}

bool write_signal(int fd, int signo) {
  SignalRecord r;
  r.signo = static_cast<uint32_t>(signo);
  return retry_eintr([&] { return ::write(fd, &r, sizeof r); }) == static_cast<ssize_t>(sizeof r);
}

}  // namespace util
