// VhostUserDevice: the backend end of a vhost-user device (QEMU's
// docs/interop/vhost-user.rst), here for virtio-fs: QEMU owns the virtio
// device and passes us the guest's RAM (shared memfd), the virtqueues and
// their eventfds over one unix socket; we pop each request chain straight
// out of guest memory, hand its bytes to a RequestHandler and copy the reply
// into the chain's writable buffers. No round trip through the guest agent.
//
// One thread per device serves both the control socket and every queue, so
// the handler is never called concurrently and ring changes never race a
// request. The guest is untrusted: every ring and buffer address is checked
// against the mapped regions (guest_memory.hpp, virtqueue.hpp).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "backends/vhost/guest_memory.hpp"
#include "backends/vhost/virtqueue.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace backends::vhost {

// Answers one request read from QUEUE; an empty reply writes nothing (FUSE
// FORGET). Runs on the device thread.
using RequestHandler = std::function<std::string(uint32_t queue, std::string_view request)>;

// One vhost-user control message from the frontend (QEMU), read whole.
struct ControlMessage {
  uint32_t request = 0;
  std::string payload;
  std::vector<util::Fd> fds;
};
// What the device does about it: keep == false drops the frontend (it broke the protocol);
// reply holds the payload of a GET_* answer.
struct ControlAnswer {
  bool keep = true;
  std::optional<std::string> reply;
};

struct DeviceStats {
  uint64_t requests = 0, malformed = 0, kicks = 0;
};

class VhostUserDevice {
 public:
  // A device with QUEUES virtqueues (virtio-fs: 1 hiprio + request queues).
  // NAME appears in log lines ("mount /src at /workspace").
  static util::Result<std::unique_ptr<VhostUserDevice>> create(std::string name, uint32_t queues);
  VhostUserDevice(const VhostUserDevice&) = delete;
  VhostUserDevice& operator=(const VhostUserDevice&) = delete;
  // Stops the thread (QEMU sees the socket close) and unmaps guest memory.
  ~VhostUserDevice();

  // The socket end QEMU gets (`-chardev socket,id=X,fd=N`); kept open until
  // release_frontend() (call it once QEMU has started and inherited it).
  int frontend_fd() const { return m_frontend.get(); }
  void release_frontend() { m_frontend.reset(); }

  // One control message, decided apart from the socket (control() reads and answers; the
  // tests call it with hostile payloads while the frontend is silent): what to reply, or
  // drop the frontend. Otherwise only the device's thread calls it.
  ControlAnswer handle(ControlMessage& message);

  // Requests wait in their ring until a handler is set.
  void set_handler(RequestHandler handler);
  DeviceStats stats() const;
  const std::string& name() const { return m_name; }

 private:
  VhostUserDevice(std::string name, uint32_t queues, util::Fd backend, util::Fd frontend, util::Fd wake);
  void run();
  // One control message; false when the socket is gone or the frontend broke the protocol.
  bool control();
  Virtqueue* queue(uint32_t index);  // nullptr when INDEX is not one of ours
  bool set_mem_table(ControlMessage& m);
  ControlAnswer vring_request(const ControlMessage& m);
  bool set_vring_fd(ControlMessage& m);
  void drain(uint32_t index);
  void answer(uint32_t index, Chain& chain);
  void reattach();

  std::string m_name;
  util::Fd m_sock, m_frontend, m_wake;
  std::vector<Virtqueue> m_queues;
  GuestMemory m_memory;
  uint64_t m_features = 0;
  std::string m_request;  // gathered request bytes (reused)

  mutable std::mutex m_mutex;  // m_handler, m_stats
  RequestHandler m_handler;
  DeviceStats m_stats;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

}  // namespace backends::vhost
