// Port forwarding for the supervisor: listens on 127.0.0.1:HOST (never another address)
// and relays every connection over a protocol "tcp" stream to the guest's 127.0.0.1:GUEST.
// The [[ports]] of the Matchlockfile are bound before boot; `matchlock port` adds and
// removes forwards while the sandbox runs (docs/network.md, "Ports the guest opens").
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/sandbox_state.hpp"
#include "guest/protocol/client.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace engine {

// At most this many forwards per sandbox (each is a listening socket and a relay per connection).
inline constexpr size_t k_max_port_forwards = 64;

class PortForwarder {
 public:
  // Binds every host port now (a port in use is an error naming it).
  static util::Result<std::unique_ptr<PortForwarder>> bind(const std::vector<std::pair<uint16_t, uint16_t>>& ports);
  ~PortForwarder();
  // Starts accepting; CLIENT must outlive this object.
  void start(protocol::Client& client);

  // Forwards 127.0.0.1:HOST (0: a free port the kernel picks) to guest port GUEST; the
  // forward as bound. A host port already forwarded or in use is an error naming it.
  util::Result<PortForward> add(uint16_t host, uint16_t guest, PortOrigin origin);
  // Stops forwarding guest port GUEST (only from host port HOST when not 0); the removed
  // forwards, NotFound when none matched. Open connections finish on their own.
  util::Result<std::vector<PortForward>> remove(uint16_t guest, uint16_t host);
  std::vector<PortForward> list() const;

 private:
  PortForwarder() = default;
  struct Listener {
    util::Fd fd;
    PortForward forward;
  };
  void run(protocol::Client& client);
  void changed(std::unique_lock<std::mutex>& lock);

  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::vector<std::shared_ptr<Listener>> m_listeners;
  uint64_t m_generation = 0;  // bumped by every change
  uint64_t m_seen = 0;        // the generation the accept thread polls
  bool m_running = false;
  util::Fd m_wake_read, m_wake_write;
  std::thread m_thread;
};

}  // namespace engine
