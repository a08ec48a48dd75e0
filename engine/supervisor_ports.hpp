// [[ports]] forwarding for the supervisor: listens on 127.0.0.1:HOST and relays
// every connection over a protocol "tcp" stream to the guest's 127.0.0.1:GUEST.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "guest/protocol/client.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace engine {

class PortForwarder {
 public:
  // Binds every host port now (a port in use is an error naming it).
  static util::Result<std::unique_ptr<PortForwarder>> bind(const std::vector<std::pair<uint16_t, uint16_t>>& ports);
  ~PortForwarder();
  // Starts accepting; CLIENT must outlive this object.
  void start(protocol::Client& client);

 private:
  PortForwarder() = default;
  struct Listener {
    util::Fd fd;
    uint16_t guest = 0;
  };
  std::vector<Listener> m_listeners;
  util::Fd m_stop_read, m_stop_write;
  std::thread m_thread;
};

}  // namespace engine
