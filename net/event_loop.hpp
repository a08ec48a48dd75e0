// EventLoop: an epoll set plus an eventfd to wake it from other threads. Tokens identify fds.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <span>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace net {

class EventLoop {
 public:
  static constexpr uint64_t k_wake_token = ~uint64_t{0};
  static util::Result<EventLoop> create();

  util::Result<void> add(int fd, uint32_t events, uint64_t token);
  util::Result<void> modify(int fd, uint32_t events, uint64_t token);
  void remove(int fd);
  // Waits up to timeout_ms (-1: forever). Returns the number of events written to `out`.
  util::Result<size_t> wait(std::span<epoll_event> out, int timeout_ms);
  // Thread-safe: makes wait() return with a k_wake_token event.
  void wake();
  void drain_wake();

 private:
  util::Fd m_epoll;
  util::Fd m_wake;
};

}  // namespace net
