// EventLoop: readiness of many fds in one thread, plus a wake-up other threads can trigger.
// Tokens identify fds. Two implementations behind this one header (docs/ARCHITECTURE.md,
// "Platform layer"): epoll + eventfd (event_loop_epoll.cpp, Linux) and poll(2) + a self-pipe
// (event_loop_poll.cpp, POSIX: macOS). CMake's MATCHLOCK_HOST_PLATFORM picks one; the poll one
// is also built and tested on Linux (util_posix_tests).
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "util/result.hpp"

namespace util {

// Event bits. The values are epoll's, so the Linux loop passes them through unchanged.
namespace ev {
constexpr uint32_t k_in = 0x001;
constexpr uint32_t k_out = 0x004;
constexpr uint32_t k_err = 0x008;
constexpr uint32_t k_hup = 0x010;
constexpr uint32_t k_rdhup = 0x2000;   // peer shut down its writing side
constexpr uint32_t k_edge = 1u << 31;  // registration flag: report each readiness edge once
}  // namespace ev

struct Event {
  uint32_t events = 0;
  uint64_t token = 0;
};

class EventLoop {
 public:
  static constexpr uint64_t k_wake_token = ~uint64_t{0};
  static Result<EventLoop> create();
  EventLoop(EventLoop&&) noexcept;
  EventLoop& operator=(EventLoop&&) noexcept;
  ~EventLoop();

  // EVENTS: ev::k_in / k_out / k_rdhup, optionally | ev::k_edge. k_err and k_hup are always
  // reported. An fd registered twice is an error (EEXIST), as with epoll.
  Result<void> add(int fd, uint32_t events, uint64_t token);
  Result<void> modify(int fd, uint32_t events, uint64_t token);
  void remove(int fd);
  // FD, registered with TOKEN, was closed without remove(): epoll dropped it by itself; the
  // poll loop drops its entry if the entry still belongs to TOKEN (the number may be reused).
  void forget(int fd, uint64_t token);
  // Edge-triggered FD: its owner drained WAITING (k_in/k_out: read or wrote until EAGAIN) and
  // waits for the next edge. Nothing to do for epoll, which tracks edges in the kernel; the
  // poll loop stops polling for a bit once it reported it and polls again from here on.
  void rearm(int fd, uint32_t waiting);
  // Waits up to timeout_ms (-1: forever). Returns the number of events written to `out`.
  Result<size_t> wait(std::span<Event> out, int timeout_ms);
  // Thread-safe: makes wait() return with a k_wake_token event.
  void wake();
  void drain_wake();

 private:
  struct Impl;
  explicit EventLoop(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace util
