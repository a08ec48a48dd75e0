#include "backends/vhost/vhost_user_device.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "backends/vhost/vhost_user_wire.hpp"
#include "util/log.hpp"

namespace backends::vhost {

namespace {

using namespace wire;  // the requests (backends/vhost/vhost_user_wire.hpp)

constexpr uint32_t k_version = 1, k_flag_reply = 1u << 2;
constexpr uint64_t k_feature_indirect = 1ull << 28, k_feature_event_idx = 1ull << 29, k_feature_version_1 = 1ull << 32;
// PROTOCOL_FEATURES (bit 30) must be offered: without it QEMU allows the
// backend no memory slots at all. Of the protocol features we take only MQ
// (so QEMU asks how many queues we serve).
constexpr uint64_t k_feature_protocol = 1ull << 30;
constexpr uint64_t k_offered = k_feature_indirect | k_feature_version_1 | k_feature_protocol;
constexpr uint64_t k_protocol_mq = 1ull << 0;
constexpr size_t k_max_payload = 4096;
constexpr size_t k_max_fds = 32;
constexpr size_t k_max_request = 64u << 20;  // a FUSE request is at most ~1 MiB
constexpr uint16_t k_used_no_notify = 1;

struct Header {
  uint32_t request, flags, size;
};
struct VringState {
  uint32_t index, num;
};
struct VringAddr {
  uint32_t index, flags;
  uint64_t desc, used, avail, log;
};
struct RegionWire {
  uint64_t guest_phys_addr, memory_size, userspace_addr, mmap_offset;
};

bool read_exact(int fd, char* p, size_t n) {
  while (n) {
    ssize_t r = util::retry_eintr([&] { return ::read(fd, p, n); });
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// The header, with any fds that came along.
bool recv_header(int fd, Header& h, std::vector<util::Fd>& fds) {
  char control[CMSG_SPACE(sizeof(int) * k_max_fds)];
  iovec iov{&h, sizeof h};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t r = util::retry_eintr([&] { return ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC); });
  if (r <= 0) return false;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; ++i) {
      int f;
      std::memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
      fds.emplace_back(f);
    }
  }
  if (msg.msg_flags & MSG_CTRUNC) return false;
  return read_exact(fd, reinterpret_cast<char*>(&h) + r, sizeof h - static_cast<size_t>(r));
}

bool reply(int fd, uint32_t request, const void* payload, uint32_t size) {
  std::string out(sizeof(Header) + size, '\0');
  Header h{request, k_version | k_flag_reply, size};
  std::memcpy(out.data(), &h, sizeof h);
  std::memcpy(out.data() + sizeof h, payload, size);
  return util::write_all(fd, out).has_value();
}

template <class T>
bool payload_as(const std::string& payload, T& out) {
  if (payload.size() < sizeof(T)) return false;
  std::memcpy(&out, payload.data(), sizeof(T));
  return true;
}

}  // namespace

util::Result<std::unique_ptr<VhostUserDevice>> VhostUserDevice::create(std::string name, uint32_t queues) {
  if (queues == 0 || queues > 64) return util::make_error(util::ErrorCode::Internal, "vhost-user: bad queue count");
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return util::sys_error("vhost-user: socketpair");
  util::Fd backend(sv[0]), frontend(sv[1]);
  util::Fd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake) return util::sys_error("vhost-user: eventfd");
  std::unique_ptr<VhostUserDevice> d(
      new VhostUserDevice(std::move(name), queues, std::move(backend), std::move(frontend), std::move(wake)));
  d->m_thread = std::thread([dev = d.get()] { dev->run(); });
  return d;
}

VhostUserDevice::VhostUserDevice(std::string name, uint32_t queues, util::Fd backend, util::Fd frontend, util::Fd wake)
    : m_name(std::move(name)),
      m_sock(std::move(backend)),
      m_frontend(std::move(frontend)),
      m_wake(std::move(wake)),
      m_queues(queues) {}

VhostUserDevice::~VhostUserDevice() {
  m_stop = true;
  uint64_t one = 1;
  (void)!::write(m_wake.get(), &one, sizeof one);
  if (m_thread.joinable()) m_thread.join();
}

void VhostUserDevice::set_handler(RequestHandler handler) {
  {
    std::lock_guard lock(m_mutex);
    m_handler = std::move(handler);
  }
  uint64_t one = 1;
  (void)!::write(m_wake.get(), &one, sizeof one);  // serve what queued up meanwhile
}

DeviceStats VhostUserDevice::stats() const {
  std::lock_guard lock(m_mutex);
  return m_stats;
}

void VhostUserDevice::run() {
  std::vector<pollfd> fds;
  while (!m_stop) {
    fds.clear();
    fds.push_back({m_sock.get(), POLLIN, 0});
    fds.push_back({m_wake.get(), POLLIN, 0});
    for (auto& q : m_queues) fds.push_back({q.ready() ? q.kick.get() : -1, POLLIN, 0});
    if (util::retry_eintr([&] { return ::poll(fds.data(), fds.size(), -1); }) < 0) {
      util::log::warn(m_name + ": vhost-user poll: " + std::strerror(errno));
      return;
    }
    bool all = false;
    if (fds[1].revents & POLLIN) {
      uint64_t v;
      (void)!::read(m_wake.get(), &v, sizeof v);
      all = true;
    }
    if (m_stop) return;
    for (size_t i = 0; i < m_queues.size(); ++i) {
      if (fds[2 + i].revents & POLLIN) {
        uint64_t v;
        (void)!::read(m_queues[i].kick.get(), &v, sizeof v);
        std::lock_guard lock(m_mutex);
        ++m_stats.kicks;
      }
      if (all || (fds[2 + i].revents & POLLIN)) drain(static_cast<uint32_t>(i));
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!control()) {
        util::log::debug(m_name + ": vhost-user frontend gone");
        return;
      }
    }
  }
}

void VhostUserDevice::drain(uint32_t index) {
  Virtqueue& q = m_queues[index];
  if (!q.ready()) return;
  {
    std::lock_guard lock(m_mutex);
    if (!m_handler) return;  // left in the ring until set_handler
  }
  for (;;) {
    q.set_used_flags(k_used_no_notify);  // no kicks while we are draining anyway
    while (auto chain = q.pop(m_memory)) {
      answer(index, *chain);
      q.notify();  // per request: the guest can go on while we serve the next
    }
    q.set_used_flags(0);
    if (!q.has_available()) return;  // a request made available before the flag cleared
  }
}

void VhostUserDevice::answer(uint32_t index, Chain& chain) {
  Virtqueue& q = m_queues[index];
  auto reject = [&] {  // returned unused, and counted
    std::lock_guard lock(m_mutex);
    ++m_stats.malformed;
    q.push(chain.head, 0);
  };
  if (!chain.valid || !read_chain(chain, k_max_request, m_request)) return reject();
  std::string out;
  {
    std::lock_guard lock(m_mutex);
    ++m_stats.requests;
    out = m_handler(index, m_request);
  }
  q.push(chain.head, static_cast<uint32_t>(write_chain(chain, out)));
}

void VhostUserDevice::reattach() {
  for (auto& q : m_queues)
    if (q.num && q.desc_addr && !m_memory.empty()) (void)q.attach(m_memory);
}

bool VhostUserDevice::control() {
  Header h{};
  ControlMessage m;
  if (!recv_header(m_sock.get(), h, m.fds)) return false;
  if (h.size > k_max_payload || m.fds.size() > k_max_fds) {
    util::log::warn(m_name + ": vhost-user message " + std::to_string(h.request) + " too large");
    return false;
  }
  m.request = h.request;
  m.payload.assign(h.size, '\0');
  if (!read_exact(m_sock.get(), m.payload.data(), m.payload.size())) return false;
  auto answer = handle(m);
  if (!answer.keep) return false;
  return !answer.reply ||
         reply(m_sock.get(), h.request, answer.reply->data(), static_cast<uint32_t>(answer.reply->size()));
}

namespace {

template <class T>
ControlAnswer answer_with(const T& value) {
  return {true, std::string(reinterpret_cast<const char*>(&value), sizeof value)};
}
const ControlAnswer k_done{true, std::nullopt};
const ControlAnswer k_drop{false, std::nullopt};

}  // namespace

ControlAnswer VhostUserDevice::handle(ControlMessage& m) {
  switch (m.request) {
    case GetFeatures:
      return answer_with(k_offered);
    case SetFeatures: {
      uint64_t f = 0;
      if (!payload_as(m.payload, f)) return k_drop;
      m_features = f & k_offered;
      if (f & k_feature_event_idx)
        util::log::warn(m_name + ": vhost-user frontend set EVENT_IDX, which we did not offer");
      return k_done;
    }
    case GetProtocolFeatures:
      return answer_with(k_protocol_mq);
    case GetQueueNum:
      return answer_with(static_cast<uint64_t>(m_queues.size()));
    case SetOwner:
    case ResetOwner:
    case SetProtocolFeatures:
    case SetLogBase:
    case SetLogFd:
      return k_done;
    case SetMemTable:
      return set_mem_table(m) ? k_done : k_drop;
    case SetVringNum:
    case SetVringBase:
    case SetVringEnable:
    case SetVringAddr:
    case GetVringBase:
      return vring_request(m);
    case SetVringKick:
    case SetVringCall:
    case SetVringErr:
      return set_vring_fd(m) ? k_done : k_drop;
    default:
      // Nothing we offered leads here; an unexpected request that wants a
      // reply would stall QEMU, so say which one it was.
      util::log::warn(m_name + ": vhost-user request " + std::to_string(m.request) + " not supported, ignored");
      return k_done;
  }
}

Virtqueue* VhostUserDevice::queue(uint32_t index) { return index < m_queues.size() ? &m_queues[index] : nullptr; }

bool VhostUserDevice::set_mem_table(ControlMessage& m) {
  uint32_t n = 0;
  if (!payload_as(m.payload, n) || n > 8 || m.payload.size() < 8 + n * sizeof(RegionWire) || m.fds.size() != n)
    return false;
  std::vector<MemoryRegion> regions;
  for (uint32_t i = 0; i < n; ++i) {
    RegionWire w;
    std::memcpy(&w, m.payload.data() + 8 + i * sizeof w, sizeof w);
    regions.push_back({w.guest_phys_addr, w.memory_size, w.userspace_addr, w.mmap_offset});
  }
  for (auto& q : m_queues) q.detach();
  auto mem = GuestMemory::map(regions, std::move(m.fds));
  if (!mem) {
    util::log::warn(m_name + ": " + mem.error().message());
    return false;
  }
  m_memory = std::move(*mem);
  reattach();
  return true;
}

// SET_VRING_NUM/BASE/ENABLE/ADDR and GET_VRING_BASE: a ring's size, position, switch and addresses.
ControlAnswer VhostUserDevice::vring_request(const ControlMessage& m) {
  if (m.request == SetVringAddr) {
    VringAddr a{};
    Virtqueue* q = payload_as(m.payload, a) ? queue(a.index) : nullptr;
    if (!q) return k_drop;
    q->desc_addr = a.desc;
    q->avail_addr = a.avail;
    q->used_addr = a.used;
    if (q->attach(m_memory)) return k_done;
    util::log::warn(m_name + ": vhost-user ring " + std::to_string(a.index) + " is outside guest memory");
    return k_drop;
  }
  VringState s{};
  Virtqueue* q = payload_as(m.payload, s) ? queue(s.index) : nullptr;
  if (!q) return k_drop;
  switch (m.request) {
    case SetVringNum:
      q->num = s.num;
      q->detach();
      return k_done;
    case SetVringBase:
      q->last_avail = static_cast<uint16_t>(s.num);
      return k_done;
    case SetVringEnable:
      q->enabled = s.num != 0;
      return k_done;
    default:  // GetVringBase
      s.num = q->last_avail;
      q->kick.reset();  // the ring stops until the next SET_VRING_KICK
      q->detach();
      return answer_with(s);
  }
}

// SET_VRING_KICK/CALL/ERR: the eventfd of a ring (bit 8 of the payload: none).
bool VhostUserDevice::set_vring_fd(ControlMessage& m) {
  uint64_t v = 0;
  if (!payload_as(m.payload, v)) return false;
  uint32_t index = static_cast<uint32_t>(v & 0xff);
  Virtqueue* q = queue(index);
  if (!q) return false;
  bool no_fd = v & 0x100;
  util::Fd fd = (!no_fd && !m.fds.empty()) ? std::move(m.fds[0]) : util::Fd();
  if (m.request == SetVringKick) {
    if (!fd)
      util::log::warn(m_name + ": vhost-user ring " + std::to_string(index) + " without a kick fd is not served");
    q->kick = std::move(fd);
    if (q->num && q->desc_addr) (void)q->attach(m_memory);
    drain(index);
  } else if (m.request == SetVringCall) {
    q->call = std::move(fd);
  }
  return true;
}

}  // namespace backends::vhost
