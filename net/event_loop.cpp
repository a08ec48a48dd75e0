#include "net/event_loop.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

namespace net {

util::Result<EventLoop> EventLoop::create() {
  EventLoop loop;
  loop.m_epoll = util::Fd(epoll_create1(EPOLL_CLOEXEC));
  if (!loop.m_epoll) return util::sys_error("epoll_create1");
  loop.m_wake = util::Fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!loop.m_wake) return util::sys_error("eventfd");
  ML_TRY(loop.add(loop.m_wake.get(), EPOLLIN, k_wake_token));
  return loop;
}

util::Result<void> EventLoop::add(int fd, uint32_t events, uint64_t token) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (epoll_ctl(m_epoll.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return util::sys_error("epoll_ctl add");
  return util::ok();
}

util::Result<void> EventLoop::modify(int fd, uint32_t events, uint64_t token) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (epoll_ctl(m_epoll.get(), EPOLL_CTL_MOD, fd, &ev) != 0) return util::sys_error("epoll_ctl mod");
  return util::ok();
}

void EventLoop::remove(int fd) { epoll_ctl(m_epoll.get(), EPOLL_CTL_DEL, fd, nullptr); }

util::Result<size_t> EventLoop::wait(std::span<epoll_event> out, int timeout_ms) {
  int n = epoll_wait(m_epoll.get(), out.data(), static_cast<int>(out.size()), timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return size_t{0};
    return util::sys_error("epoll_wait");
  }
  return static_cast<size_t>(n);
}

void EventLoop::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(m_wake.get(), &one, sizeof one);
}

void EventLoop::drain_wake() {
  uint64_t v;
  [[maybe_unused]] ssize_t n = ::read(m_wake.get(), &v, sizeof v);
}

}  // namespace net
