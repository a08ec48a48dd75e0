#include "tests/net/splice.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace test_net {
namespace {

// Closing a TCP socket with SO_LINGER 0 sends RST upstream.
void close_with_reset(util::Fd& fd) {
  linger l{1, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd.reset();
}

void splice(util::Fd flow, uint16_t port) {
  util::Fd up(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (!up || connect(up.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return;  // flow closes: RST
  int fds[2] = {flow.get(), up.get()};
  bool read_open[2] = {true, true};
  std::vector<char> buf(256 * 1024);
  while (read_open[0] || read_open[1]) {
    pollfd p[2] = {{fds[0], static_cast<short>(read_open[0] ? POLLIN : 0), 0},
                   {fds[1], static_cast<short>(read_open[1] ? POLLIN : 0), 0}};
    if (poll(p, 2, -1) < 0) return;
    for (int i = 0; i < 2; ++i) {
      if (!read_open[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = recv(fds[i], buf.data(), buf.size(), 0);
      if (n < 0) {  // reset on one side: reset the other
        if (i == 0) close_with_reset(up);
        return;
      }
      if (n == 0) {
        read_open[i] = false;
        shutdown(fds[1 - i], SHUT_WR);
        continue;
      }
      if (!util::write_all(fds[1 - i], {buf.data(), static_cast<size_t>(n)})) {
        if (i == 0) close_with_reset(up);
        return;
      }
    }
  }
}

}  // namespace

void Splicer::add(util::Fd flow, uint16_t port) {
  std::lock_guard lock(m_mutex);
  m_threads.emplace_back([fd = std::move(flow), port]() mutable { splice(std::move(fd), port); });
}

void Splicer::join_all() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(m_mutex);
    threads.swap(m_threads);
  }
  for (auto& t : threads) t.join();
}

}  // namespace test_net
