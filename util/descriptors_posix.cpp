// util/descriptors.hpp on POSIX (macOS): create, then fcntl. macOS has no atomic form, so a
// fork+exec in another thread between the two calls could inherit the descriptor: a window of
// one system call that Linux does not have.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "util/descriptors.hpp"

namespace util {

namespace {

int set_flags(int fd, Blocking blocking) {
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) return -1;
  if (blocking == Blocking::No) {
    int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
  }
  return 0;
}

int close_both(int fds[2]) {
  int saved = errno;
  ::close(fds[0]);
  ::close(fds[1]);
  errno = saved;
  return -1;
}

}  // namespace

int pipe_cloexec(int fds[2], Blocking blocking) {
  if (::pipe(fds) < 0) return -1;
  if (set_flags(fds[0], blocking) < 0 || set_flags(fds[1], blocking) < 0) return close_both(fds);
  return 0;
}

int socket_cloexec(int domain, int type, Blocking blocking) {
  int fd = ::socket(domain, type, 0);
  if (fd < 0 || set_flags(fd, blocking) == 0) return fd;
  int saved = errno;
  ::close(fd);
  errno = saved;
  return -1;
}

int socketpair_cloexec(int domain, int type, int fds[2], Blocking blocking) {
  if (::socketpair(domain, type, 0, fds) < 0) return -1;
  if (set_flags(fds[0], blocking) < 0 || set_flags(fds[1], blocking) < 0) return close_both(fds);
  return 0;
}

int accept_cloexec(int listener) {
  int fd = ::accept(listener, nullptr, nullptr);
  if (fd < 0 || set_flags(fd, Blocking::Yes) == 0) return fd;
  int saved = errno;
  ::close(fd);
  errno = saved;
  return -1;
}

namespace {

int nosignal_flags(int fd, int flags) {
#ifdef MSG_NOSIGNAL  // linux-only-ok: POSIX.1-2008, used only where defined
  (void)fd;
  return flags | MSG_NOSIGNAL;  // linux-only-ok: POSIX.1-2008, used only where defined
#else
  int one = 1;
  (void)::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
  return flags;
#endif
}

}  // namespace

ssize_t send_nosignal(int fd, const void* data, size_t len, int flags) {
  return ::send(fd, data, len, nosignal_flags(fd, flags));
}

ssize_t sendmsg_nosignal(int fd, const struct msghdr* msg, int flags) {
  return ::sendmsg(fd, msg, nosignal_flags(fd, flags));
}

}  // namespace util
