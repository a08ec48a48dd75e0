// Descriptors created close-on-exec (and non-blocking when asked), and sends that never raise
// SIGPIPE. Two implementations (docs/ARCHITECTURE.md, "Platform layer"): Linux sets the flags
// in the creating call (pipe2, accept4, SOCK_CLOEXEC, MSG_NOSIGNAL: descriptors_linux.cpp);
// POSIX (macOS has none of those) sets them with fcntl right after, and uses MSG_NOSIGNAL where
// defined, else SO_NOSIGPIPE (descriptors_posix.cpp). Each returns what the system call does
// (-1 and errno on failure).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>

namespace util {

enum class Blocking { Yes, No };

int pipe_cloexec(int fds[2], Blocking blocking = Blocking::Yes);
int socket_cloexec(int domain, int type, Blocking blocking = Blocking::Yes);
int socketpair_cloexec(int domain, int type, int fds[2], Blocking blocking = Blocking::Yes);
int accept_cloexec(int listener);
ssize_t send_nosignal(int fd, const void* data, size_t len, int flags = 0);
ssize_t sendmsg_nosignal(int fd, const struct msghdr* msg, int flags = 0);

}  // namespace util
