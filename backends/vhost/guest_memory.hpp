// GuestMemory: the guest's RAM as a vhost-user backend sees it. QEMU sends the
// regions (VHOST_USER_SET_MEM_TABLE) with one fd each; we map them shared and
// translate guest-physical addresses (descriptor buffers) and QEMU's own
// virtual addresses (ring locations) into pointers in our address space.
// Every translation is bounds-checked: the guest is not trusted, so an
// address or length that leaves a region yields nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace backends::vhost {

struct MemoryRegion {
  uint64_t guest_phys_addr = 0;
  uint64_t size = 0;
  uint64_t user_addr = 0;    // where QEMU has it mapped
  uint64_t mmap_offset = 0;  // of the region inside the fd
};

class GuestMemory {
 public:
  GuestMemory() = default;
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;
  GuestMemory(GuestMemory&& other) noexcept { swap(other); }
  GuestMemory& operator=(GuestMemory&& other) noexcept {
    GuestMemory tmp(std::move(other));
    swap(tmp);
    return *this;
  }
  ~GuestMemory() { unmap(); }

  // Maps REGIONS[i] from FDS[i] (the fds are closed once mapped).
  static util::Result<GuestMemory> map(const std::vector<MemoryRegion>& regions, std::vector<util::Fd> fds);

  // A pointer to LEN bytes at guest-physical ADDR, or null when any of them
  // is outside the mapped RAM (a range may not straddle two regions).
  char* gpa(uint64_t addr, uint64_t len) const;
  // The same for an address in QEMU's address space (vring addresses).
  char* qva(uint64_t addr, uint64_t len) const;
  bool empty() const { return m_maps.empty(); }

 private:
  struct Mapping {
    MemoryRegion region;
    char* base = nullptr;  // the region's first byte
    void* map = nullptr;   // what munmap takes
    size_t map_len = 0;
  };
  void unmap();
  void swap(GuestMemory& other) noexcept { m_maps.swap(other.m_maps); }
  std::vector<Mapping> m_maps;
};

}  // namespace backends::vhost
