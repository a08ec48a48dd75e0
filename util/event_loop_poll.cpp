// EventLoop on POSIX (macOS): poll(2) over a table of registrations and a self-pipe for wake()
// (util/event_loop.hpp). Edge-triggered registrations are emulated: once a bit (k_in, k_out) is
// reported it is no longer polled until the owner calls rearm() after draining to EAGAIN, so an
// owner that stops reading under backpressure does not make the loop spin. A hang-up or error
// disarms the whole registration until rearm(). Built and tested on Linux too (util_posix_tests).
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <unordered_map>
#include <vector>

#include "util/event_loop.hpp"
#include "util/fd.hpp"

namespace util {

namespace {

struct Registration {
  uint32_t interest = 0;  // as given to add()/modify()
  uint64_t token = 0;
  uint32_t armed = 0;  // edge-triggered: the bits still polled (k_in, k_out)
};

constexpr uint32_t k_io = ev::k_in | ev::k_out;

uint32_t io_bits(uint32_t events) {
  uint32_t b = events & k_io;
  if (events & ev::k_rdhup) b |= ev::k_in;  // a peer's shutdown shows as end of file
  return b;
}

short to_poll(uint32_t bits) {
  short p = 0;
  if (bits & ev::k_in) p |= POLLIN;
  if (bits & ev::k_out) p |= POLLOUT;
  return p;
}

Result<Fd> cloexec_nonblocking(int fd, const char* what) {
  Fd owned(fd);
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) return sys_error(what);
  ML_TRY(set_nonblocking(fd));
  return owned;
}

}  // namespace

struct EventLoop::Impl {
  std::unordered_map<int, Registration> regs;
  Fd wake_read, wake_write;
  std::vector<pollfd> pfds;
};

EventLoop::EventLoop(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
EventLoop::EventLoop(EventLoop&&) noexcept = default;
EventLoop& EventLoop::operator=(EventLoop&&) noexcept = default;
EventLoop::~EventLoop() = default;

Result<EventLoop> EventLoop::create() {
  auto impl = std::make_unique<Impl>();
  int p[2];
  if (::pipe(p) < 0) return sys_error("pipe (event loop wake)");
  Fd r(p[0]), w(p[1]);
  impl->wake_read = ML_TRY(cloexec_nonblocking(r.release(), "fcntl (event loop wake)"));
  impl->wake_write = ML_TRY(cloexec_nonblocking(w.release(), "fcntl (event loop wake)"));
  return EventLoop(std::move(impl));
}

Result<void> EventLoop::add(int fd, uint32_t events, uint64_t token) {
  if (fd < 0) return sys_error_code(EBADF, "poll loop add");
  // An entry for the same number is stale: the number was reused after a close, which
  // took an epoll registration away by itself.
  m_impl->regs[fd] = Registration{events, token, io_bits(events)};
  return ok();
}

Result<void> EventLoop::modify(int fd, uint32_t events, uint64_t token) {
  auto it = m_impl->regs.find(fd);
  if (it == m_impl->regs.end()) return sys_error_code(ENOENT, "poll loop modify");
  it->second = Registration{events, token, io_bits(events)};
  return ok();
}

void EventLoop::remove(int fd) { m_impl->regs.erase(fd); }

void EventLoop::forget(int fd, uint64_t token) {
  auto it = m_impl->regs.find(fd);
  if (it != m_impl->regs.end() && it->second.token == token) m_impl->regs.erase(it);
}

void EventLoop::rearm(int fd, uint32_t waiting) {
  auto it = m_impl->regs.find(fd);
  if (it == m_impl->regs.end() || !(it->second.interest & ev::k_edge)) return;
  it->second.armed |= io_bits(it->second.interest) & io_bits(waiting);
}

Result<size_t> EventLoop::wait(std::span<Event> out, int timeout_ms) {
  auto& pfds = m_impl->pfds;
  pfds.clear();
  pfds.push_back(pollfd{m_impl->wake_read.get(), POLLIN, 0});
  for (const auto& [fd, reg] : m_impl->regs) {
    bool edge = reg.interest & ev::k_edge;
    uint32_t bits = edge ? reg.armed : io_bits(reg.interest);
    // A disarmed edge registration is left out entirely: poll reports POLLHUP even for no events.
    pfds.push_back(pollfd{edge && bits == 0 ? -1 : fd, to_poll(bits), 0});
  }
  int n = ::poll(pfds.data(), static_cast<nfds_t>(pfds.size()), timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return size_t{0};
    return sys_error("poll");
  }
  size_t count = 0;
  for (const auto& p : pfds) {
    if (count == out.size()) break;
    if (p.fd < 0 || p.revents == 0) continue;
    if (p.fd == m_impl->wake_read.get()) {
      out[count++] = Event{ev::k_in, k_wake_token};
      continue;
    }
    auto it = m_impl->regs.find(p.fd);
    if (it == m_impl->regs.end()) continue;
    if (p.revents & POLLNVAL) {  // closed without remove(): nothing more will come from it
      m_impl->regs.erase(it);
      continue;
    }
    uint32_t events = 0;
    if (p.revents & POLLIN) events |= ev::k_in;
    if (p.revents & POLLOUT) events |= ev::k_out;
    if (p.revents & POLLERR) events |= ev::k_err;
    if (p.revents & POLLHUP) events |= ev::k_hup | (it->second.interest & ev::k_rdhup);
    Registration& reg = it->second;
    if (reg.interest & ev::k_edge) reg.armed = (events & (ev::k_hup | ev::k_err)) ? 0 : reg.armed & ~events;
    out[count++] = Event{events, reg.token};
  }
  return count;
}

void EventLoop::wake() {
  char one = 1;
  [[maybe_unused]] ssize_t n = ::write(m_impl->wake_write.get(), &one, 1);
}

void EventLoop::drain_wake() {
  char buf[64];
  while (::read(m_impl->wake_read.get(), buf, sizeof buf) > 0) {
  }
}

}  // namespace util
