#include "backends/vhost/guest_memory.hpp"

#include <sys/mman.h>
#include <unistd.h>

namespace backends::vhost {

namespace {

// [addr, addr+len) inside [start, start+size)? Overflow-safe.
bool within(uint64_t addr, uint64_t len, uint64_t start, uint64_t size) {
  if (addr < start) return false;
  uint64_t off = addr - start;
  return off <= size && len <= size - off;
}

}  // namespace

util::Result<GuestMemory> GuestMemory::map(const std::vector<MemoryRegion>& regions, std::vector<util::Fd> fds) {
  if (regions.size() != fds.size())
    return util::make_error(util::ErrorCode::Guest, "vhost-user: " + std::to_string(regions.size()) +
                                                        " memory regions but " + std::to_string(fds.size()) + " fds");
  GuestMemory mem;
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  for (size_t i = 0; i < regions.size(); ++i) {
    const MemoryRegion& r = regions[i];
    if (r.size == 0 || r.size > (uint64_t{1} << 46) || r.mmap_offset > (uint64_t{1} << 46))
      return util::make_error(util::ErrorCode::Guest,
                              "vhost-user: memory region " + std::to_string(i) + " has a bad size");
    // mmap needs a page-aligned offset: map from the page below it.
    uint64_t lead = r.mmap_offset % page;
    size_t len = static_cast<size_t>(r.size + lead);
    void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fds[i].get(),
                     static_cast<off_t>(r.mmap_offset - lead));
    if (p == MAP_FAILED) return util::sys_error("vhost-user: mmap guest memory region " + std::to_string(i));
    mem.m_maps.push_back({r, static_cast<char*>(p) + lead, p, len});
  }
  return mem;
}

char* GuestMemory::gpa(uint64_t addr, uint64_t len) const {
  for (const auto& m : m_maps)
    if (within(addr, len, m.region.guest_phys_addr, m.region.size)) return m.base + (addr - m.region.guest_phys_addr);
  return nullptr;
}

char* GuestMemory::qva(uint64_t addr, uint64_t len) const {
  for (const auto& m : m_maps)
    if (within(addr, len, m.region.user_addr, m.region.size)) return m.base + (addr - m.region.user_addr);
  return nullptr;
}

void GuestMemory::unmap() {
  for (auto& m : m_maps) ::munmap(m.map, m.map_len);
  m_maps.clear();
}

}  // namespace backends::vhost
