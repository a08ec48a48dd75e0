// Virtqueue: the device side of one split virtqueue (virtio 1.x, 2.7) in
// guest memory: pops the descriptor chains the driver made available, hands
// back used ones, and signals the driver. Supports INDIRECT descriptors; no
// EVENT_IDX, no packed rings. The guest is not trusted: a chain that loops,
// is too long or points outside guest RAM is returned unused (len 0).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backends/vhost/guest_memory.hpp"
#include "util/fd.hpp"

namespace backends::vhost {

// Split-ring layout (little-endian on every host we build for).
struct VringDesc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
inline constexpr uint16_t k_desc_next = 1, k_desc_write = 2, k_desc_indirect = 4;
inline constexpr uint16_t k_avail_no_interrupt = 1;
inline constexpr uint32_t k_max_queue_size = 32768;

struct Chain {
  uint16_t head = 0;
  std::vector<std::span<char>> readable;  // driver → device, in order
  std::vector<std::span<char>> writable;  // device → driver, in order
  bool valid = true;                      // false: malformed (answer with push(head, 0))
};

class Virtqueue {
 public:
  // Ring set-up, as VHOST_USER_SET_VRING_* deliver it.
  uint32_t num = 0;
  uint64_t desc_addr = 0, avail_addr = 0, used_addr = 0;  // QEMU virtual addresses
  uint16_t last_avail = 0;
  util::Fd kick, call;
  // SET_VRING_ENABLE. A ring starts enabled: the spec says disabled once
  // PROTOCOL_FEATURES is negotiated, but a frontend that never sends ENABLE
  // for a single-queue-pair device would otherwise stall; QEMU sends 0 only to
  // stop a ring it no longer uses.
  bool enabled = true;

  // Resolves the ring addresses in MEM; false when they are not inside it or not aligned
  // as virtio requires (descriptor table 16, available ring 2, used ring 4).
  bool attach(const GuestMemory& mem);
  bool ready() const { return m_desc != nullptr && kick.valid(); }
  void detach() { m_desc = nullptr; }

  // The next available chain, or nothing when the driver has made none.
  std::optional<Chain> pop(const GuestMemory& mem);
  // Returns HEAD to the driver with LEN bytes written.
  void push(uint16_t head, uint32_t len);
  // Writes the used ring's flags (1 = VRING_USED_F_NO_NOTIFY: the driver
  // need not kick), then makes sure a later has_available() sees requests
  // the driver made available before it could see the flag.
  void set_used_flags(uint16_t flags);
  bool has_available() const;
  // Signals the driver (call eventfd) unless it asked for no interrupts.
  void notify();

 private:
  bool walk(const GuestMemory& mem, const char* table, uint32_t size, uint16_t first, Chain& out, bool nested);

  char* m_desc = nullptr;       // VringDesc[num], read by bytes (walk)
  uint16_t* m_avail = nullptr;  // flags, idx, ring[num]
  char* m_used = nullptr;       // flags, idx, {id, len}[num]
};

// The request in CHAIN's readable buffers, copied into OUT; false when longer than MAX.
bool read_chain(const Chain& chain, size_t max, std::string& out);
// Copies REPLY into CHAIN's writable buffers, in order, as far as they go; returns the
// bytes written (the used length).
size_t write_chain(const Chain& chain, std::string_view reply);

}  // namespace backends::vhost
