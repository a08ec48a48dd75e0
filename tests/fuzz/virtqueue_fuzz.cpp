// Fuzz target: split virtqueues in guest memory (backends/vhost): the guest writes the
// descriptor table, the available ring and every buffer address and length; the device pops
// chains (direct, chained, INDIRECT), gathers the request, scatters a reply and pushes them
// used, as VhostUserDevice::answer does.
// Memory: a memfd with two RAM regions (16 KiB at guest-physical 0, 8 KiB at 1 MiB whose file
// offset is not page aligned), mapped by GuestMemory as for QEMU.
// Input: ring set-up (size, where each ring is: region and offset, possibly misaligned or out
// of RAM; last_avail; reply size), then the bytes of guest RAM.
// Invariants: every buffer of a chain lies inside one region; a chain has no more buffers than
// its table has descriptors; the reply never writes past the writable buffers.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backends/vhost/guest_memory.hpp"
#include "backends/vhost/virtqueue.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

using backends::vhost::MemoryRegion;

constexpr uint64_t k_file_size = 0x8000;
constexpr uint64_t k_qva0 = 0x7f1200000000, k_qva1 = 0x7f3400000000;
const std::vector<MemoryRegion> k_regions = {
    {0x0, 0x4000, k_qva0, 0x0},
    {0x100000, 0x2000, k_qva1, 0x4800},
};

struct Ram {
  util::Fd fd{::memfd_create("virtqueue-fuzz", MFD_CLOEXEC)};
  char* base = nullptr;  // our own view of the whole file
  backends::vhost::GuestMemory mem;
  Ram() {
    FUZZ_CHECK(fd.valid() && ::ftruncate(fd.get(), k_file_size) == 0);
    void* p = ::mmap(nullptr, k_file_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    FUZZ_CHECK(p != MAP_FAILED);
    base = static_cast<char*>(p);
    std::vector<util::Fd> fds;
    for (size_t i = 0; i < k_regions.size(); ++i) fds.emplace_back(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 0));
    auto m = backends::vhost::GuestMemory::map(k_regions, std::move(fds));
    FUZZ_CHECK(m.has_value());
    mem = std::move(*m);
  }
};

bool inside_ram(const Ram& ram, std::span<char> s) {
  for (const auto& r : k_regions) {
    const char* b = ram.mem.gpa(r.guest_phys_addr, r.size);
    if (s.data() >= b && s.data() + s.size() <= b + r.size) return true;
  }
  return false;
}

uint64_t ring_address(uint8_t region, uint16_t offset) { return (region & 1 ? k_qva1 : k_qva0) + offset; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Ram ram;
  fuzz::FuzzInput in(data, size);
  backends::vhost::Virtqueue q;
  q.num = 1u << (in.u8() % 10);  // 1..512
  uint8_t where = in.u8();
  q.desc_addr = ring_address(where, in.u16());
  q.avail_addr = ring_address(where >> 1, in.u16());
  q.used_addr = ring_address(where >> 2, in.u16());
  q.last_avail = in.u16();
  if (where & 0x80) q.num = in.u16();  // any size: attach must refuse what is not a power of two
  size_t reply_size = size_t{in.u8()} * 16;
  auto image = in.bytes(k_file_size);
  std::memset(ram.base, 0, k_file_size);
  if (!image.empty()) std::memcpy(ram.base, image.data(), image.size());  // data() may be null when empty

  if (!q.attach(ram.mem)) return 0;
  std::string request;
  std::string reply(reply_size, 'r');
  for (int i = 0; i < 64; ++i) {
    auto chain = q.pop(ram.mem);
    if (!chain) break;
    FUZZ_CHECK(chain->head < q.num || !chain->valid);
    if (!chain->valid) {
      FUZZ_CHECK(chain->readable.empty() && chain->writable.empty());
      q.push(chain->head, 0);
      continue;
    }
    FUZZ_CHECK(chain->readable.size() + chain->writable.size() <= backends::vhost::k_max_queue_size);
    size_t writable = 0;
    for (auto s : chain->readable) FUZZ_CHECK(s.empty() || inside_ram(ram, s));
    for (auto s : chain->writable) {
      FUZZ_CHECK(s.empty() || inside_ram(ram, s));
      writable += s.size();
    }
    if (!backends::vhost::read_chain(*chain, 1 << 20, request)) {
      q.push(chain->head, 0);
      continue;
    }
    size_t done = backends::vhost::write_chain(*chain, reply);
    FUZZ_CHECK(done == std::min(writable, reply.size()));
    q.push(chain->head, static_cast<uint32_t>(done));
  }
  q.set_used_flags(1);
  (void)q.has_available();
  q.notify();  // no call fd: nothing to signal
  return 0;
}
