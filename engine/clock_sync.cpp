#include "engine/clock_sync.hpp"

namespace engine {

ClockSync::ClockSync(protocol::Client& client, std::chrono::milliseconds interval)
    : m_thread([this, &client, interval] { run(client, interval); }) {}

ClockSync::~ClockSync() {
  {
    std::lock_guard lock(m_mu);
    m_stop = true;
  }
  m_cv.notify_all();
  m_thread.join();
}

void ClockSync::run(protocol::Client& client, std::chrono::milliseconds interval) {
  std::unique_lock lock(m_mu);
  while (!m_cv.wait_for(lock, interval, [this] { return m_stop; })) {
    lock.unlock();
    if (client.connected()) client.sync_clock();
    lock.lock();
  }
}

}  // namespace engine
