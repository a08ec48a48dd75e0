// ports = "auto": the supervisor watches the guest's TCP listeners (the guest's
// /proc/net/tcp and tcp6, read through the agent every second, at most 1 MiB each) and forwards each
// one on 127.0.0.1 at a port the host kernel picks, removing the forward when the
// listener goes. The guest chooses which of its ports are forwarded, never which host
// port: it cannot occupy a host port that a host-side client expects (docs/network.md).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "engine/supervisor_ports.hpp"
#include "guest/protocol/client.hpp"

namespace engine {

// Guest listeners ports = "auto" forwards: TCP LISTEN sockets a connection to 127.0.0.1
// reaches (127.0.0.1, 0.0.0.0, ::, ::ffff:127.0.0.1, ::ffff:0.0.0.0), port >= 1024, from
// the text of /proc/net/tcp (optionally followed by tcp6's lines: the first line is a
// header). Malformed lines are skipped; at most k_max_port_forwards ports.
std::set<uint16_t> auto_port_candidates(std::string_view proc_net_tcp);

class PortWatch {
 public:
  // Starts watching; CLIENT and PORTS must outlive this object.
  PortWatch(protocol::Client& client, PortForwarder& ports, std::function<void(const std::string&)> log);
  ~PortWatch();  // stops the thread (the forwards stay with PORTS)
  PortWatch(const PortWatch&) = delete;
  PortWatch& operator=(const PortWatch&) = delete;

 private:
  void run();
  void sync(const std::set<uint16_t>& listening);

  protocol::Client& m_client;
  PortForwarder& m_ports;
  std::function<void(const std::string&)> m_log;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_stop = false;
  bool m_failing = false;  // the last read of the guest's table failed (logged once)
  std::thread m_thread;
};

}  // namespace engine
