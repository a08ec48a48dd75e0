// util/descriptors.hpp on Linux: the flags in the creating call.
#include <fcntl.h>
#include <unistd.h>

#include "util/descriptors.hpp"

namespace util {

namespace {
int nb(Blocking b, int flag) { return b == Blocking::No ? flag : 0; }
}  // namespace

int pipe_cloexec(int fds[2], Blocking blocking) { return ::pipe2(fds, O_CLOEXEC | nb(blocking, O_NONBLOCK)); }

int socket_cloexec(int domain, int type, Blocking blocking) {
  return ::socket(domain, type | SOCK_CLOEXEC | nb(blocking, SOCK_NONBLOCK), 0);
}

int socketpair_cloexec(int domain, int type, int fds[2], Blocking blocking) {
  return ::socketpair(domain, type | SOCK_CLOEXEC | nb(blocking, SOCK_NONBLOCK), 0, fds);
}

int accept_cloexec(int listener) { return ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC); }

ssize_t send_nosignal(int fd, const void* data, size_t len, int flags) {
  return ::send(fd, data, len, flags | MSG_NOSIGNAL);
}

ssize_t sendmsg_nosignal(int fd, const struct msghdr* msg, int flags) {
  return ::sendmsg(fd, msg, flags | MSG_NOSIGNAL);
}

}  // namespace util
