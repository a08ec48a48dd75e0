// EventLoop on Linux: an epoll set and an eventfd (util/event_loop.hpp).
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vector>

#include "util/event_loop.hpp"
#include "util/fd.hpp"

namespace util {

static_assert(ev::k_in == EPOLLIN && ev::k_out == EPOLLOUT && ev::k_err == EPOLLERR && ev::k_hup == EPOLLHUP &&
              ev::k_rdhup == EPOLLRDHUP && ev::k_edge == static_cast<uint32_t>(EPOLLET));

struct EventLoop::Impl {
  Fd epoll;
  Fd wake;
  std::vector<epoll_event> buffer;
};

EventLoop::EventLoop(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
EventLoop::EventLoop(EventLoop&&) noexcept = default;
EventLoop& EventLoop::operator=(EventLoop&&) noexcept = default;
EventLoop::~EventLoop() = default;

Result<EventLoop> EventLoop::create() {
  auto impl = std::make_unique<Impl>();
  impl->epoll = Fd(epoll_create1(EPOLL_CLOEXEC));
  if (!impl->epoll) return sys_error("epoll_create1");
  impl->wake = Fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!impl->wake) return sys_error("eventfd");
  int wake_fd = impl->wake.get();
  EventLoop loop(std::move(impl));
  ML_TRY(loop.add(wake_fd, ev::k_in, k_wake_token));
  return loop;
}

Result<void> EventLoop::add(int fd, uint32_t events, uint64_t token) {
  epoll_event e{};
  e.events = events;
  e.data.u64 = token;
  if (epoll_ctl(m_impl->epoll.get(), EPOLL_CTL_ADD, fd, &e) != 0) return sys_error("epoll_ctl add");
  return ok();
}

Result<void> EventLoop::modify(int fd, uint32_t events, uint64_t token) {
  epoll_event e{};
  e.events = events;
  e.data.u64 = token;
  if (epoll_ctl(m_impl->epoll.get(), EPOLL_CTL_MOD, fd, &e) != 0) return sys_error("epoll_ctl mod");
  return ok();
}

void EventLoop::remove(int fd) { epoll_ctl(m_impl->epoll.get(), EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::forget(int, uint64_t) {}  // closing the fd took it out of the epoll set

void EventLoop::rearm(int, uint32_t) {}  // the kernel tracks edges

Result<size_t> EventLoop::wait(std::span<Event> out, int timeout_ms) {
  auto& buf = m_impl->buffer;
  if (buf.size() < out.size()) buf.resize(out.size());
  int n = epoll_wait(m_impl->epoll.get(), buf.data(), static_cast<int>(out.size()), timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return size_t{0};
    return sys_error("epoll_wait");
  }
  for (int i = 0; i < n; ++i)
    out[static_cast<size_t>(i)] = Event{buf[static_cast<size_t>(i)].events, buf[static_cast<size_t>(i)].data.u64};
  return static_cast<size_t>(n);
}

void EventLoop::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(m_impl->wake.get(), &one, sizeof one);
}

void EventLoop::drain_wake() {
  uint64_t v;
  [[maybe_unused]] ssize_t n = ::read(m_impl->wake.get(), &v, sizeof v);
}

}  // namespace util
