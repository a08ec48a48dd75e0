// backends/vhost: guest memory translation, the split virtqueue (chains,
// INDIRECT, malformed input from an untrusted driver) and the vhost-user
// device end to end. No mocks: a memfd is the guest's RAM, eventfds are the
// kick/call signals and the test speaks the vhost-user wire protocol over the
// device's socket the way QEMU does.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <limits>

#include "backends/vhost/vhost_user_device.hpp"
#include "tests/unit/vhost_test_support.hpp"

using namespace vhost_test;
using backends::vhost::Chain;
using backends::vhost::GuestMemory;
using backends::vhost::k_avail_no_interrupt;
using backends::vhost::k_desc_indirect;
using backends::vhost::k_desc_next;
using backends::vhost::k_desc_write;
using backends::vhost::VhostUserDevice;
using backends::vhost::Virtqueue;

namespace {

constexpr uint64_t k_max = std::numeric_limits<uint64_t>::max();

std::string str(std::span<char> s) { return std::string(s.data(), s.size()); }

// A Virtqueue attached to a Ring in a fresh memfd.
struct QueueRig {
  Ram ram;
  Ring ring{ram};
  GuestMemory mem = ram.map();
  Virtqueue q;
  QueueRig() {
    q.num = ring.num;
    q.desc_addr = k_qva0 + Ring::k_desc;
    q.avail_addr = k_qva0 + Ring::k_avail;
    q.used_addr = k_qva0 + Ring::k_used;
    q.kick = make_eventfd();
    q.call = make_eventfd();
    REQUIRE(q.attach(mem));
  }
};

}  // namespace

TEST_CASE("GuestMemory translates guest-physical and QEMU addresses in each region") {
  Ram ram;
  GuestMemory mem = ram.map();
  std::memcpy(ram.at(0x10), "region0", 7);
  std::memcpy(ram.at(0x100000), "region1", 7);  // file offset 0x90800: not page aligned
  std::memcpy(ram.at(0x13fff8), "lastbyte", 8);

  char* p0 = mem.gpa(0x10, 7);
  REQUIRE(p0 != nullptr);
  CHECK(std::string(p0, 7) == "region0");
  CHECK(mem.qva(k_qva0 + 0x10, 7) == p0);
  char* p1 = mem.gpa(0x100000, 7);
  REQUIRE(p1 != nullptr);
  CHECK(std::string(p1, 7) == "region1");
  CHECK(mem.qva(0x7f3400000000, 7) == p1);
  char* end = mem.gpa(0x13fff8, 8);  // exactly up to the region's end
  REQUIRE(end != nullptr);
  CHECK(std::string(end, 8) == "lastbyte");
  CHECK(mem.gpa(0x7fff0, 0x10) != nullptr);
  CHECK(mem.gpa(0x0, 0x80000) != nullptr);  // the whole region

  // Writes through the translated pointer land in the shared memfd.
  std::memcpy(p1, "written", 7);
  CHECK(std::string(ram.at(0x100000), 7) == "written");
}

TEST_CASE("GuestMemory refuses ranges that straddle a region end, overflow or miss RAM") {
  Ram ram;
  GuestMemory mem = ram.map();
  CHECK(mem.gpa(0x7fff0, 0x11) == nullptr);     // one byte past region 0
  CHECK(mem.gpa(0x80000, 1) == nullptr);        // just after region 0
  CHECK(mem.gpa(0x90000, 16) == nullptr);       // the hole between the regions
  CHECK(mem.gpa(0x7fff0, 0x80020) == nullptr);  // across the hole into region 1
  CHECK(mem.gpa(0xfffff, 2) == nullptr);        // starts before region 1
  CHECK(mem.gpa(0x13ffff, 2) == nullptr);       // past region 1
  CHECK(mem.gpa(0x200000, 1) == nullptr);
  CHECK(mem.gpa(k_max - 4, 16) == nullptr);  // addr + len wraps
  CHECK(mem.gpa(k_max, 1) == nullptr);
  CHECK(mem.gpa(0x10, k_max) == nullptr);
  CHECK(mem.gpa(0x100010, k_max - 8) == nullptr);  // len that wraps addr + len to a small number
  CHECK(mem.qva(0x10, 1) == nullptr);              // a guest-physical address is no QEMU address
  CHECK(mem.qva(k_qva0 + 0x7ffff, 2) == nullptr);
  CHECK(mem.qva(k_qva0 - 1, 2) == nullptr);
  CHECK(mem.qva(k_max - 1, 4) == nullptr);
  CHECK(GuestMemory().gpa(0, 1) == nullptr);
}

TEST_CASE("GuestMemory::map rejects mismatched fds and empty regions") {
  Ram ram;
  std::vector<util::Fd> one;
  one.push_back(ram.dup());
  CHECK_FALSE(GuestMemory::map(k_regions, std::move(one)).has_value());
  std::vector<util::Fd> fds;
  fds.push_back(ram.dup());
  CHECK_FALSE(GuestMemory::map({{0x0, 0, k_qva0, 0}}, std::move(fds)).has_value());
}

TEST_CASE("Virtqueue pops a 3-descriptor chain and pushes it used") {
  QueueRig rig;
  std::memcpy(rig.ram.at(0x100000), "head:", 5);
  std::memcpy(rig.ram.at(0x20000), "body", 4);
  rig.ring.desc(5, 0x100000, 5, k_desc_next, 2);  // out of order on purpose
  rig.ring.desc(2, 0x20000, 4, k_desc_next, 7);
  rig.ring.desc(7, 0x30000, 64, k_desc_write);
  rig.ring.make_available(5);

  CHECK(rig.q.has_available());
  auto chain = rig.q.pop(rig.mem);
  REQUIRE(chain.has_value());
  CHECK(chain->valid);
  CHECK(chain->head == 5);
  REQUIRE(chain->readable.size() == 2);
  CHECK(str(chain->readable[0]) == "head:");
  CHECK(str(chain->readable[1]) == "body");
  REQUIRE(chain->writable.size() == 1);
  CHECK(chain->writable[0].size() == 64);
  CHECK(chain->writable[0].data() == rig.mem.gpa(0x30000, 64));
  CHECK_FALSE(rig.q.pop(rig.mem).has_value());
  CHECK(rig.q.last_avail == 1);

  std::memcpy(chain->writable[0].data(), "answer", 6);
  rig.q.push(chain->head, 6);
  CHECK(rig.ring.used_idx() == 1);
  CHECK(rig.ring.used(0) == std::pair<uint32_t, uint32_t>{5, 6});
  CHECK(std::string(rig.ram.at(0x30000), 6) == "answer");
}

TEST_CASE("Virtqueue follows an INDIRECT descriptor table") {
  QueueRig rig;
  std::memcpy(rig.ram.at(0x100000), "indirect request", 16);
  rig.ring.table(0x8000, 0, 0x100000, 16, k_desc_next, 2);  // table entries chain by next, too
  rig.ring.table(0x8000, 2, 0x101000, 32, k_desc_write | k_desc_next, 1);
  rig.ring.table(0x8000, 1, 0x30000, 8, k_desc_write);
  rig.ring.desc(3, 0x8000, 3 * 16, k_desc_indirect);
  rig.ring.make_available(3);

  auto chain = rig.q.pop(rig.mem);
  REQUIRE(chain.has_value());
  CHECK(chain->valid);
  CHECK(chain->head == 3);
  REQUIRE(chain->readable.size() == 1);
  CHECK(str(chain->readable[0]) == "indirect request");
  REQUIRE(chain->writable.size() == 2);
  CHECK(chain->writable[0].data() == rig.mem.gpa(0x101000, 32));
  CHECK(chain->writable[0].size() == 32);
  CHECK(chain->writable[1].data() == rig.mem.gpa(0x30000, 8));
  CHECK(chain->writable[1].size() == 8);
}

TEST_CASE("Virtqueue returns malformed chains invalid, and never touches memory outside RAM") {
  struct Case {
    const char* name;
    std::function<void(const Ring&)> lay_out;  // descriptors; the chain's head is 0 unless HEAD
    uint16_t head = 0;
  };
  const uint16_t nx = k_desc_next, wr = k_desc_write, in = k_desc_indirect;
  const std::vector<Case> cases = {
      {"loop (next points back)", [=](const Ring& r) { r.desc(0, 0x20000, 16, nx, 1), r.desc(1, 0x20010, 16, nx, 0); }},
      {"descriptor that is its own next", [=](const Ring& r) { r.desc(0, 0x20000, 16, nx, 0); }},
      {"next index >= num", [=](const Ring& r) { r.desc(0, 0x20000, 16, nx, 8); }},
      {"head index >= num", [](const Ring&) {}, 9},
      {"buffer in the hole between regions", [](const Ring& r) { r.desc(0, 0x90000, 16, 0); }},
      {"buffer straddling a region end", [](const Ring& r) { r.desc(0, 0x7fff8, 16, 0); }},
      {"buffer whose end overflows", [](const Ring& r) { r.desc(0, k_max - 7, 16, 0); }},
      {"writable buffer outside RAM",
       [=](const Ring& r) { r.desc(0, 0x20000, 16, nx, 1), r.desc(1, 0x200000, 16, wr); }},
      {"readable after writable",
       [=](const Ring& r) { r.desc(0, 0x20000, 16, wr | nx, 1), r.desc(1, 0x20010, 16, 0); }},
      {"nested indirect",
       [=](const Ring& r) {
         r.desc(0, 0x8000, 16, in), r.table(0x8000, 0, 0x9000, 16, in), r.table(0x9000, 0, 0x20000, 16, 0);
       }},
      {"indirect len not a multiple of 16",
       [=](const Ring& r) { r.desc(0, 0x8000, 24, in), r.table(0x8000, 0, 0x20000, 16, 0); }},
      {"indirect len 0", [=](const Ring& r) { r.desc(0, 0x8000, 0, in); }},
      {"indirect with NEXT",
       [=](const Ring& r) { r.desc(0, 0x8000, 16, in | nx, 1), r.table(0x8000, 0, 0x20000, 16, 0); }},
      {"indirect table outside RAM", [=](const Ring& r) { r.desc(0, 0x7fff0, 32, in); }},
      {"loop inside an indirect table",
       [=](const Ring& r) {
         r.desc(0, 0x8000, 32, in), r.table(0x8000, 0, 0x20000, 4, nx, 1), r.table(0x8000, 1, 0x20000, 4, nx, 0);
       }},
      {"indirect entry next beyond the table",
       [=](const Ring& r) {
         r.desc(0, 0x8000, 32, in), r.table(0x8000, 0, 0x20000, 4, nx, 2), r.table(0x8000, 2, 0x20000, 4, 0);
       }},
      {"readable after writable across an indirect table",
       [=](const Ring& r) {
         r.desc(0, 0x8000, 32, in), r.table(0x8000, 0, 0x20000, 4, wr | nx, 1), r.table(0x8000, 1, 0x20000, 4, 0);
       }},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    QueueRig rig;
    c.lay_out(rig.ring);
    rig.ring.make_available(c.head);
    auto chain = rig.q.pop(rig.mem);
    REQUIRE(chain.has_value());
    CHECK_FALSE(chain->valid);
    CHECK(chain->head == c.head);
    CHECK(chain->readable.empty());
    CHECK(chain->writable.empty());
    CHECK(rig.q.last_avail == 1);  // consumed: a bad chain does not block the ring
    rig.q.push(chain->head, 0);
    CHECK(rig.ring.used_idx() == 1);
    CHECK(rig.ring.used(0) == std::pair<uint32_t, uint32_t>{c.head, 0});
    // The ring goes on: a good chain after the bad one pops fine.
    rig.ring.desc(4, 0x20000, 16, 0);
    rig.ring.make_available(4);
    auto next = rig.q.pop(rig.mem);
    REQUIRE(next.has_value());
    CHECK(next->valid);
    CHECK(next->head == 4);
  }
}

TEST_CASE("Virtqueue attach refuses rings outside RAM and bad sizes") {
  Ram ram;
  GuestMemory mem = ram.map();
  auto try_attach = [&](uint32_t num, uint64_t desc, uint64_t avail, uint64_t used) {
    Virtqueue q;
    q.num = num;
    q.desc_addr = desc;
    q.avail_addr = avail;
    q.used_addr = used;
    bool ok = q.attach(mem);
    if (!ok) CHECK_FALSE(q.pop(mem).has_value());  // a refused ring pops nothing
    return ok;
  };
  CHECK(try_attach(8, k_qva0, k_qva0 + 0x1000, k_qva0 + 0x2000));
  CHECK_FALSE(try_attach(6, k_qva0, k_qva0 + 0x1000, k_qva0 + 0x2000));  // not a power of 2
  CHECK_FALSE(try_attach(0, k_qva0, k_qva0 + 0x1000, k_qva0 + 0x2000));
  CHECK_FALSE(try_attach(65536, k_qva0, k_qva0 + 0x1000, k_qva0 + 0x2000));
  CHECK_FALSE(try_attach(8, 0x0, k_qva0 + 0x1000, k_qva0 + 0x2000));             // a gpa, not a QEMU address
  CHECK_FALSE(try_attach(8, k_qva0, k_qva0 + 0x7fff0, k_qva0 + 0x2000));         // avail ring runs off the region
  CHECK_FALSE(try_attach(8, k_qva0, k_qva0 + 0x1000, k_qva0 + 0x80000 - 0x40));  // used ring too
  CHECK_FALSE(try_attach(32768, k_qva0 + 0x7f000, k_qva0 + 0x1000, k_qva0 + 0x2000));
}

// Found by tests/fuzz/virtqueue_fuzz.cpp (corpus seeds misaligned_rings, indirect_odd_address):
// the rings and an indirect table were read through VringDesc/uint16_t pointers at whatever
// address the guest chose: misaligned loads and atomics, undefined behaviour.
TEST_CASE("Virtqueue refuses misaligned rings and reads a misaligned indirect table by bytes") {
  Ram ram;
  GuestMemory mem = ram.map();
  auto attach = [&](uint64_t desc, uint64_t avail, uint64_t used) {
    Virtqueue q;
    q.num = 8;
    q.desc_addr = desc;
    q.avail_addr = avail;
    q.used_addr = used;
    return q.attach(mem);
  };
  CHECK(attach(k_qva0 + 0x10, k_qva0 + 0x1002, k_qva0 + 0x2004));
  CHECK_FALSE(attach(k_qva0 + 0x8, k_qva0 + 0x1000, k_qva0 + 0x2000));  // descriptors: 16
  CHECK_FALSE(attach(k_qva0, k_qva0 + 0x1001, k_qva0 + 0x2000));        // available ring: 2
  CHECK_FALSE(attach(k_qva0, k_qva0 + 0x1000, k_qva0 + 0x2002));        // used ring: 4

  QueueRig rig;
  std::memcpy(rig.ram.at(0x100000), "odd", 3);
  rig.ring.table(0x8003, 0, 0x100000, 3, k_desc_next, 1);
  rig.ring.table(0x8003, 1, 0x30000, 8, k_desc_write);
  rig.ring.desc(0, 0x8003, 2 * 16, backends::vhost::k_desc_indirect);
  rig.ring.make_available(0);
  auto chain = rig.q.pop(rig.mem);
  REQUIRE(chain.has_value());
  REQUIRE(chain->valid);
  REQUIRE(chain->readable.size() == 1);
  CHECK(str(chain->readable[0]) == "odd");
  REQUIRE(chain->writable.size() == 1);
  CHECK(backends::vhost::write_chain(*chain, "reply-longer-than-8") == 8);
  std::string request;
  CHECK(backends::vhost::read_chain(*chain, 3, request));
  CHECK(request == "odd");
  CHECK_FALSE(backends::vhost::read_chain(*chain, 2, request));
}

TEST_CASE("Virtqueue has_available, set_used_flags and notify (NO_INTERRUPT)") {
  QueueRig rig;
  CHECK_FALSE(rig.q.has_available());
  rig.ring.desc(0, 0x20000, 16, 0);
  rig.ring.make_available(0);
  CHECK(rig.q.has_available());
  rig.q.enabled = false;  // SET_VRING_ENABLE 0
  CHECK_FALSE(rig.q.has_available());
  CHECK_FALSE(rig.q.pop(rig.mem).has_value());
  rig.q.enabled = true;
  REQUIRE(rig.q.pop(rig.mem).has_value());
  CHECK_FALSE(rig.q.has_available());

  rig.q.set_used_flags(1);
  CHECK(rig.ring.used_flags() == 1);
  rig.q.set_used_flags(0);
  CHECK(rig.ring.used_flags() == 0);

  rig.q.push(0, 0);
  rig.q.notify();
  CHECK(take_eventfd(rig.q.call.get()) == 1);
  rig.ring.set_avail_flags(k_avail_no_interrupt);
  rig.q.notify();
  CHECK(take_eventfd(rig.q.call.get()) == 0);
  rig.ring.set_avail_flags(0);
  rig.q.notify();
  rig.q.notify();
  CHECK(take_eventfd(rig.q.call.get()) == 2);
}

// ---- VhostUserDevice end to end ----

namespace {

// QEMU's side: the device's socket, the guest RAM memfd, queue 1's eventfds.
struct Frontend {
  Ram ram;
  Ring ring{ram};
  std::atomic<int> handled{0};
  std::atomic<uint32_t> last_queue{99};
  std::unique_ptr<VhostUserDevice> dev;
  util::Fd sock;
  util::Fd kick = make_eventfd(), call = make_eventfd();

  Frontend() {
    auto d = VhostUserDevice::create("vhost test", 2);
    REQUIRE(d.has_value());
    dev = std::move(*d);
    // The test holds the only frontend end, so closing it is what QEMU exiting looks like.
    sock = util::Fd(::fcntl(dev->frontend_fd(), F_DUPFD_CLOEXEC, 0));
    REQUIRE(sock.valid());
    dev->release_frontend();
  }
  void echo_handler() {
    dev->set_handler([this](uint32_t queue, std::string_view request) {
      last_queue = queue;
      ++handled;
      return "reply:" + std::string(request);
    });
  }
  // What QEMU sends to start queue 1, with avail/used indexes at BASE.
  void start(uint16_t base = 0) {
    const int s = sock.get();
    ring.set_avail_idx(base);
    ring.set_used_idx(base);
    uint64_t features = get_u64(s, GetFeatures);
    send_msg(s, SetOwner, "");
    send_msg(s, SetFeatures, pack(features));
    std::string table = pack(uint32_t{2}, uint32_t{0});
    for (const auto& r : k_regions) table += pack(r.guest_phys_addr, r.size, r.user_addr, r.mmap_offset);
    util::Fd f0 = ram.dup(), f1 = ram.dup();
    send_msg(s, SetMemTable, table, {f0.get(), f1.get()});
    send_msg(s, SetVringNum, pack(uint32_t{1}, uint32_t{ring.num}));
    send_msg(s, SetVringBase, pack(uint32_t{1}, uint32_t{base}));
    send_msg(s, SetVringAddr,
             pack(uint32_t{1}, uint32_t{0}, k_qva0 + Ring::k_desc, k_qva0 + Ring::k_used, k_qva0 + Ring::k_avail,
                  uint64_t{0}));
    send_msg(s, SetVringCall, pack(uint64_t{1}), {call.get()});
    send_msg(s, SetVringKick, pack(uint64_t{1}), {kick.get()});
    CHECK(get_u64(s, GetQueueNum) == 2);  // answered after everything above was taken
  }
  // A request chain at HEAD..HEAD+2: two readable parts in region 1, 64 writable bytes in region 0.
  uint64_t request(uint16_t head, const std::string& a, const std::string& b) {
    uint64_t in = 0x100000 + head * 0x400, out = 0x20000 + head * 0x400;
    std::memcpy(ram.at(in), a.data(), a.size());
    std::memcpy(ram.at(in + 0x200), b.data(), b.size());
    std::memset(ram.at(out), 0, 64);
    ring.desc(head, in, static_cast<uint32_t>(a.size()), k_desc_next, static_cast<uint16_t>(head + 1));
    ring.desc(head + 1, in + 0x200, static_cast<uint32_t>(b.size()), k_desc_next, static_cast<uint16_t>(head + 2));
    ring.desc(head + 2, out, 64, k_desc_write);
    ring.make_available(head);
    return out;
  }
  void kick_it() {
    uint64_t one = 1;
    REQUIRE(::write(kick.get(), &one, sizeof one) == sizeof one);
  }
};

size_t thread_count() {
  auto it = std::filesystem::directory_iterator("/proc/self/task");
  return static_cast<size_t>(std::distance(it, std::filesystem::directory_iterator{}));
}

}  // namespace

TEST_CASE("VhostUserDevice offers VERSION_1, INDIRECT and PROTOCOL_FEATURES, not EVENT_IDX") {
  Frontend fe;
  const int s = fe.sock.get();
  uint64_t f = get_u64(s, GetFeatures);
  CHECK((f >> 32 & 1) == 1);                          // VIRTIO_F_VERSION_1
  CHECK((f >> 28 & 1) == 1);                          // VIRTIO_RING_F_INDIRECT_DESC
  CHECK((f >> 30 & 1) == 1);                          // VHOST_USER_F_PROTOCOL_FEATURES
  CHECK((f >> 29 & 1) == 0);                          // VIRTIO_RING_F_EVENT_IDX: not implemented, so not offered
  CHECK((get_u64(s, GetProtocolFeatures) & 1) == 1);  // MQ: QEMU asks GET_QUEUE_NUM
  CHECK(get_u64(s, GetQueueNum) == 2);
}

TEST_CASE("VhostUserDevice serves a request chain out of guest memory") {
  Frontend fe;
  fe.echo_handler();
  fe.start();
  uint64_t out = fe.request(0, "hello ", "world");
  fe.kick_it();
  REQUIRE(wait_used(fe.ring, fe.call.get(), 1));
  CHECK(fe.ring.used(0) == std::pair<uint32_t, uint32_t>{0, 17});
  CHECK(std::string(fe.ram.at(out), 18) == std::string("reply:hello world\0", 18));
  CHECK(fe.last_queue == 1);

  // Two chains in one kick, the second one in the ring's other half.
  uint64_t out3 = fe.request(3, "abc", "def");
  uint64_t out0 = fe.request(0, "x", "y");
  fe.kick_it();
  REQUIRE(wait_used(fe.ring, fe.call.get(), 3));
  CHECK(fe.ring.used(1) == std::pair<uint32_t, uint32_t>{3, 12});
  CHECK(fe.ring.used(2) == std::pair<uint32_t, uint32_t>{0, 8});
  CHECK(std::string(fe.ram.at(out3), 12) == "reply:abcdef");
  CHECK(std::string(fe.ram.at(out0), 8) == "reply:xy");
  auto st = fe.dev->stats();
  CHECK(st.requests == 3);
  CHECK(st.malformed == 0);
  CHECK(st.kicks >= 1);
  // Once drained the device clears NO_NOTIFY: the driver may kick again.
  CHECK(eventually([&] { return fe.ring.used_flags() == 0; }));
}

TEST_CASE("VhostUserDevice serves requests made available before set_handler") {
  Frontend fe;
  fe.start();
  uint64_t out = fe.request(0, "early ", "bird");
  fe.kick_it();
  REQUIRE(eventually([&] { return fe.dev->stats().kicks == 1; }));  // the device saw the kick...
  CHECK(fe.ring.used_idx() == 0);                                   // ...and left the request waiting
  CHECK(fe.handled == 0);
  fe.echo_handler();
  REQUIRE(wait_used(fe.ring, fe.call.get(), 1));
  CHECK(fe.ring.used(0) == std::pair<uint32_t, uint32_t>{0, 16});
  CHECK(std::string(fe.ram.at(out), 16) == "reply:early bird");
  CHECK(fe.handled == 1);
}

TEST_CASE("VhostUserDevice GET_VRING_BASE returns the next avail index (across the 16-bit wrap)") {
  Frontend fe;
  fe.echo_handler();
  fe.start(65534);
  const uint16_t want[] = {65535, 0, 1};
  for (uint16_t w : want) {
    fe.request(0, "n", std::to_string(w));
    fe.kick_it();
    REQUIRE(wait_used(fe.ring, fe.call.get(), w));
    CHECK(fe.ring.used(static_cast<uint16_t>(w - 1)).first == 0);
  }
  send_msg(fe.sock.get(), GetVringBase, pack(uint32_t{1}, uint32_t{0}));
  std::string p = recv_reply(fe.sock.get(), GetVringBase);
  REQUIRE(p.size() == 8);
  CHECK(get<uint32_t>(p.data()) == 1);      // queue index
  CHECK(get<uint32_t>(p.data() + 4) == 1);  // next avail index: 65534 + 3, mod 2^16
  CHECK(fe.dev->stats().requests == 3);
}

TEST_CASE("VhostUserDevice returns a malformed chain with len 0 and counts it") {
  Frontend fe;
  fe.echo_handler();
  fe.start();
  fe.ring.desc(0, 0x20000, 16, k_desc_next, 1);  // 0 -> 1 -> 0 ...
  fe.ring.desc(1, 0x20010, 16, k_desc_next, 0);
  fe.ring.make_available(0);
  fe.ring.desc(2, 0x90000, 16, 0);  // in the hole between the regions
  fe.ring.make_available(2);
  fe.kick_it();
  REQUIRE(wait_used(fe.ring, fe.call.get(), 2));
  CHECK(fe.ring.used(0) == std::pair<uint32_t, uint32_t>{0, 0});
  CHECK(fe.ring.used(1) == std::pair<uint32_t, uint32_t>{2, 0});
  CHECK(fe.dev->stats().malformed == 2);
  CHECK(fe.handled == 0);

  // The device goes on serving good requests.
  uint64_t out = fe.request(3, "still ", "alive");
  fe.kick_it();
  REQUIRE(wait_used(fe.ring, fe.call.get(), 3));
  CHECK(fe.ring.used(2) == std::pair<uint32_t, uint32_t>{3, 17});
  CHECK(std::string(fe.ram.at(out), 17) == "reply:still alive");
  CHECK(fe.dev->stats().requests == 1);
  CHECK(fe.dev->stats().malformed == 2);
}

TEST_CASE("VhostUserDevice thread ends when the frontend closes the socket") {
  const size_t before = thread_count();
  Frontend fe;
  fe.echo_handler();
  fe.start();
  CHECK(thread_count() == before + 1);
  fe.request(0, "a", "b");
  fe.kick_it();
  REQUIRE(wait_used(fe.ring, fe.call.get(), 1));

  fe.sock.reset();  // QEMU went away
  CHECK(eventually([&] { return thread_count() == before; }));
  auto t0 = std::chrono::steady_clock::now();
  fe.dev.reset();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
}

TEST_CASE("VhostUserDevice::handle decides each control message apart from the socket") {
  Frontend fe;  // silent: only this thread touches the device's state
  auto ask = [&](uint32_t request, std::string payload) {
    backends::vhost::ControlMessage m;
    m.request = request;
    m.payload = std::move(payload);
    return fe.dev->handle(m);
  };
  auto features = ask(GetFeatures, "");
  REQUIRE((features.keep && features.reply && features.reply->size() == 8));
  CHECK((get<uint64_t>(features.reply->data()) >> 29 & 1) == 0);  // no EVENT_IDX
  // Every request with a payload: too short, or naming a queue we do not have, drops the frontend.
  for (uint32_t r : {SetFeatures, SetMemTable, SetVringNum, SetVringBase, SetVringEnable, SetVringAddr, GetVringBase,
                     SetVringKick, SetVringCall, SetVringErr}) {
    INFO(r);
    CHECK_FALSE(ask(r, "").keep);
    CHECK_FALSE(ask(r, "\x01").keep);
  }
  for (uint32_t r : {SetVringNum, SetVringBase, SetVringEnable, GetVringBase})
    CHECK_FALSE(ask(r, pack(uint32_t{2}, uint32_t{0})).keep);  // queue 2 of 2
  CHECK_FALSE(
      ask(SetVringAddr, pack(uint32_t{7}, uint32_t{0}, uint64_t{0}, uint64_t{0}, uint64_t{0}, uint64_t{0})).keep);
  CHECK_FALSE(ask(SetVringKick, pack(uint64_t{0xff})).keep);
  // A memory table that claims more regions than fds came, or more than 8.
  CHECK_FALSE(
      ask(SetMemTable, pack(uint32_t{1}, uint32_t{0}, uint64_t{0}, uint64_t{4096}, uint64_t{0}, uint64_t{0})).keep);
  CHECK_FALSE(ask(SetMemTable, pack(uint32_t{9}, uint32_t{0})).keep);
  // A ring address with no memory table yet is outside guest memory.
  CHECK_FALSE(ask(SetVringAddr,
                  pack(uint32_t{1}, uint32_t{0}, uint64_t{0x1000}, uint64_t{0x2000}, uint64_t{0x3000}, uint64_t{0}))
                  .keep);
  // Valid ring state is taken without a reply; GET_VRING_BASE answers it.
  auto num = ask(SetVringNum, pack(uint32_t{1}, uint32_t{256}));
  CHECK((num.keep && !num.reply));
  CHECK(ask(SetVringBase, pack(uint32_t{1}, uint32_t{77})).keep);
  auto base = ask(GetVringBase, pack(uint32_t{1}, uint32_t{0}));
  REQUIRE((base.keep && base.reply && base.reply->size() == 8));
  CHECK(get<uint32_t>(base.reply->data() + 4) == 77);
  // An unknown request is logged and ignored: no reply (QEMU waits for none), frontend kept.
  auto unknown = ask(999, "");
  CHECK((unknown.keep && !unknown.reply));
}
