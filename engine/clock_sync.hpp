// ClockSync: keeps a booted guest's clock on the host's. A thread sends the host's
// time to the agent (Client::sync_clock) every `interval`; the agent slews or steps
// (guest/protocol/types.hpp). The boot sets the clock once; this keeps it there on
// every accelerator, whatever the guest's timekeeping does under load (issue 14).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "guest/protocol/client.hpp"

namespace engine {

inline constexpr std::chrono::milliseconds k_clock_sync_interval{2000};

class ClockSync {
 public:
  // CLIENT is borrowed and must outlive this object.
  explicit ClockSync(protocol::Client& client, std::chrono::milliseconds interval = k_clock_sync_interval);
  ClockSync(const ClockSync&) = delete;
  ClockSync& operator=(const ClockSync&) = delete;
  ~ClockSync();  // stops and joins the thread

 private:
  void run(protocol::Client& client, std::chrono::milliseconds interval);
  std::mutex m_mu;
  std::condition_variable m_cv;
  bool m_stop = false;
  std::thread m_thread;
};

}  // namespace engine
