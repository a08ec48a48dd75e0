// Test support for backends/vhost: a memfd that plays the guest's RAM (two
// regions at different guest-physical and QEMU-virtual addresses, both at
// non-zero offsets into the one memfd), a split ring laid out in it, and the
// frontend's (QEMU's) half of the vhost-user wire format.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "backends/vhost/guest_memory.hpp"
#include "backends/vhost/virtqueue.hpp"
#include "backends/vhost/vhost_user_wire.hpp"
#include "util/fd.hpp"

namespace vhost_test {

using backends::vhost::MemoryRegion;

// Region 0: guest [0, 512 KiB) at file offset 4 KiB; region 1: guest
// [1 MiB, 1 MiB + 256 KiB) at an offset that is not page aligned. Between
// them (512 KiB .. 1 MiB) there is no RAM.
inline constexpr uint64_t k_file_size = 0x100000;
inline const std::vector<MemoryRegion> k_regions = {
    {0x0, 0x80000, 0x7f1200000000, 0x1000},
    {0x100000, 0x40000, 0x7f3400000000, 0x90800},
};
inline constexpr uint64_t k_qva0 = 0x7f1200000000;  // QEMU's address of guest-physical 0

// The memfd and the test's own (shared) view of it.
class Ram {
 public:
  Ram() : m_fd(::memfd_create("vhost-test-ram", MFD_CLOEXEC)) {
    REQUIRE(m_fd.valid());
    REQUIRE(::ftruncate(m_fd.get(), k_file_size) == 0);
    void* p = ::mmap(nullptr, k_file_size, PROT_READ | PROT_WRITE, MAP_SHARED, m_fd.get(), 0);
    REQUIRE(p != MAP_FAILED);
    m_base = static_cast<char*>(p);
  }
  Ram(const Ram&) = delete;
  Ram& operator=(const Ram&) = delete;
  ~Ram() { ::munmap(m_base, k_file_size); }

  // The test's pointer to guest-physical GPA (which must be RAM).
  char* at(uint64_t gpa) const {
    for (const auto& r : k_regions)
      if (gpa >= r.guest_phys_addr && gpa < r.guest_phys_addr + r.size)
        return m_base + r.mmap_offset + (gpa - r.guest_phys_addr);
    FAIL("test bug: gpa " << gpa << " is not RAM");
    return nullptr;
  }
  int fd() const { return m_fd.get(); }
  util::Fd dup() const { return util::Fd(::fcntl(m_fd.get(), F_DUPFD_CLOEXEC, 0)); }
  // The device's view: both regions mapped from (copies of) the memfd.
  backends::vhost::GuestMemory map() const {
    std::vector<util::Fd> fds;
    fds.push_back(dup());
    fds.push_back(dup());
    auto mem = backends::vhost::GuestMemory::map(k_regions, std::move(fds));
    REQUIRE(mem.has_value());
    return std::move(*mem);
  }

 private:
  util::Fd m_fd;
  char* m_base = nullptr;
};

template <class T>
void put(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
}
template <class T>
T get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// A split ring of NUM entries in region 0 (the driver's side of it).
struct Ring {
  static constexpr uint64_t k_desc = 0x0, k_avail = 0x1000, k_used = 0x2000;
  const Ram& ram;
  uint16_t num = 8;

  void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0) const {
    table(k_desc, i, addr, len, flags, next);
  }
  // Entry I of a descriptor table at guest-physical AT (also for indirect tables).
  void table(uint64_t at, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0) const {
    char* p = ram.at(at) + 16 * i;
    put(p, addr);
    put(p + 8, len);
    put(p + 12, flags);
    put(p + 14, next);
  }
  // Publishes HEAD as the next available chain (as a driver does: entry, then idx).
  void make_available(uint16_t head) const {
    uint16_t idx = avail_idx();
    put(ram.at(k_avail) + 4 + 2 * (idx % num), head);
    std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(ram.at(k_avail) + 2))
        .store(static_cast<uint16_t>(idx + 1), std::memory_order_release);
  }
  uint16_t avail_idx() const { return get<uint16_t>(ram.at(k_avail) + 2); }
  void set_avail_idx(uint16_t v) const { put(ram.at(k_avail) + 2, v); }
  void set_avail_flags(uint16_t v) const { put(ram.at(k_avail), v); }
  uint16_t used_flags() const { return get<uint16_t>(ram.at(k_used)); }
  uint16_t used_idx() const {
    return std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(ram.at(k_used) + 2)).load(std::memory_order_acquire);
  }
  void set_used_idx(uint16_t v) const { put(ram.at(k_used) + 2, v); }
  // Used element for used index IDX: {id, len}.
  std::pair<uint32_t, uint32_t> used(uint16_t idx) const {
    const char* e = ram.at(k_used) + 4 + 8 * (idx % num);
    return {get<uint32_t>(e), get<uint32_t>(e + 4)};
  }
};

inline util::Fd make_eventfd() {
  util::Fd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  REQUIRE(fd.valid());
  return fd;
}
// The eventfd's counter (0 when it was not signalled); resets it.
inline uint64_t take_eventfd(int fd) {
  uint64_t v = 0;
  if (::read(fd, &v, sizeof v) != sizeof v) return 0;
  return v;
}

// ---- vhost-user wire format, frontend side ----

using namespace backends::vhost::wire;  // the requests, as QEMU sends them

inline std::string bytes(const void* p, size_t n) { return std::string(static_cast<const char*>(p), n); }
template <class... T>
std::string pack(T... v) {
  return (std::string{} + ... + bytes(&v, sizeof v));
}

// One message (header + payload in one sendmsg, FDS as SCM_RIGHTS), as QEMU sends it.
inline void send_msg(int sock, uint32_t request, const std::string& payload, const std::vector<int>& fds = {}) {
  std::string out = pack(request, uint32_t{1}, static_cast<uint32_t>(payload.size())) + payload;
  iovec iov{out.data(), out.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  REQUIRE(::sendmsg(sock, &msg, MSG_NOSIGNAL) == static_cast<ssize_t>(out.size()));
}

// Reads exactly N bytes within 5 s.
inline std::string read_n(int sock, size_t n) {
  std::string s(n, '\0');
  size_t got = 0;
  while (got < n) {
    pollfd p{sock, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 5000) == 1);
    ssize_t r = ::read(sock, s.data() + got, n - got);
    REQUIRE(r > 0);
    got += static_cast<size_t>(r);
  }
  return s;
}

// The backend's reply to REQUEST: checks the header, returns the payload.
inline std::string recv_reply(int sock, uint32_t request) {
  std::string h = read_n(sock, 12);
  CHECK(get<uint32_t>(h.data()) == request);
  CHECK(get<uint32_t>(h.data() + 4) == (1u | 4u));  // version 1, reply
  return read_n(sock, get<uint32_t>(h.data() + 8));
}

inline uint64_t get_u64(int sock, uint32_t request) {
  send_msg(sock, request, "");
  std::string p = recv_reply(sock, request);
  REQUIRE(p.size() == 8);
  return get<uint64_t>(p.data());
}

// Waits (call eventfd, at most 5 s) until the used index reaches WANT.
inline bool wait_used(const Ring& ring, int call, uint16_t want) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ring.used_idx() != want) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{call, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) == 1) take_eventfd(call);
  }
  return true;
}

// Polls PRED every 5 ms for at most 5 s.
template <class Pred>
bool eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    ::usleep(5000);
  }
  return true;
}

}  // namespace vhost_test
