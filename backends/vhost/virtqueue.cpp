#include "backends/vhost/virtqueue.hpp"

#include <unistd.h>

#include <atomic>
#include <cstring>

namespace backends::vhost {

namespace {

uint16_t load_acquire(const uint16_t* p) { return std::atomic_ref<const uint16_t>(*p).load(std::memory_order_acquire); }
void store_release(uint16_t* p, uint16_t v) { std::atomic_ref<uint16_t>(*p).store(v, std::memory_order_release); }

bool aligned(const void* p, uintptr_t alignment) { return reinterpret_cast<uintptr_t>(p) % alignment == 0; }

}  // namespace

bool Virtqueue::attach(const GuestMemory& mem) {
  if (num == 0 || num > k_max_queue_size || (num & (num - 1)) != 0) return false;
  m_desc = nullptr;
  char* desc = mem.qva(desc_addr, uint64_t{16} * num);
  char* avail = mem.qva(avail_addr, 4 + uint64_t{2} * num + 2);
  char* used = mem.qva(used_addr, 4 + uint64_t{8} * num + 2);
  // The alignment virtio 1.x 2.7 requires (descriptors 16, available ring 2, used ring 4):
  // the rings are read and written in place, with atomic 16-bit index accesses.
  if (!desc || !avail || !used || !aligned(desc, 16) || !aligned(avail, 2) || !aligned(used, 4)) return false;
  m_desc = desc;
  m_avail = reinterpret_cast<uint16_t*>(avail);
  m_used = used;
  return true;
}

bool Virtqueue::walk(const GuestMemory& mem, const char* table, uint32_t size, uint16_t first, Chain& out,
                     bool nested) {
  uint32_t index = first;
  for (uint32_t seen = 0;; ++seen) {
    if (index >= size || seen >= size) return false;  // out of the table, or a loop
    // One copy, by bytes: the guest may change it under us, and an indirect table is at
    // whatever address the guest wrote (no alignment is promised).
    VringDesc d;
    std::memcpy(&d, table + uint64_t{sizeof(VringDesc)} * index, sizeof d);
    if (d.flags & k_desc_indirect) {
      // An indirect table stands for the whole chain (virtio 2.7.5.3.1).
      if (nested || (d.flags & k_desc_next) || d.len % sizeof(VringDesc) != 0 || d.len == 0) return false;
      uint32_t n = d.len / sizeof(VringDesc);
      if (n > k_max_queue_size) return false;
      const char* sub = mem.gpa(d.addr, d.len);
      if (!sub) return false;
      return walk(mem, sub, n, 0, out, true);
    }
    char* p = d.len ? mem.gpa(d.addr, d.len) : nullptr;
    if (d.len && !p) return false;
    if (d.flags & k_desc_write) {
      out.writable.emplace_back(p, d.len);
    } else {
      if (!out.writable.empty()) return false;  // readable after writable: not allowed
      out.readable.emplace_back(p, d.len);
    }
    if (!(d.flags & k_desc_next)) return true;
    index = d.next;
  }
}

std::optional<Chain> Virtqueue::pop(const GuestMemory& mem) {
  if (!m_desc || !enabled) return std::nullopt;
  uint16_t avail_idx = load_acquire(m_avail + 1);
  if (avail_idx == last_avail) return std::nullopt;
  uint16_t head = std::atomic_ref<const uint16_t>(m_avail[2 + last_avail % num]).load(std::memory_order_relaxed);
  ++last_avail;
  Chain c;
  c.head = head;
  if (head >= num || !walk(mem, m_desc, num, head, c, false)) {
    c.valid = false;
    c.readable.clear();
    c.writable.clear();
  }
  return c;
}

void Virtqueue::push(uint16_t head, uint32_t len) {
  if (!m_desc) return;
  auto* idx = reinterpret_cast<uint16_t*>(m_used + 2);
  uint16_t used_idx = *idx;  // only we write it
  char* elem = m_used + 4 + uint64_t{8} * (used_idx % num);
  uint32_t id = head;
  std::memcpy(elem, &id, 4);
  std::memcpy(elem + 4, &len, 4);
  store_release(idx, static_cast<uint16_t>(used_idx + 1));
}

void Virtqueue::set_used_flags(uint16_t flags) {
  if (!m_desc) return;
  std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(m_used)).store(flags, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

bool Virtqueue::has_available() const { return m_desc && enabled && load_acquire(m_avail + 1) != last_avail; }

void Virtqueue::notify() {
  if (!m_desc || !call.valid()) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);  // used idx visible before we read the flags
  if (load_acquire(m_avail) & k_avail_no_interrupt) return;
  uint64_t one = 1;
  (void)!::write(call.get(), &one, sizeof one);
}

bool read_chain(const Chain& chain, size_t max, std::string& out) {
  out.clear();
  for (auto s : chain.readable) {
    if (out.size() + s.size() > max) return false;
    if (!s.empty()) out.append(s.data(), s.size());  // a private copy: the guest cannot change it under the handler
  }
  return true;
}

size_t write_chain(const Chain& chain, std::string_view reply) {
  size_t done = 0;
  for (auto s : chain.writable) {
    if (done == reply.size()) break;
    size_t n = std::min(s.size(), reply.size() - done);
    if (n) std::memcpy(s.data(), reply.data() + done, n);  // a zero-length buffer has no address
    done += n;
  }
  return done;
}

}  // namespace backends::vhost
