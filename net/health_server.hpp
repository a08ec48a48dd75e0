// The gateway's health endpoints on their own port (a Kubernetes liveness and readiness
// probe): GET /healthz -> 200 while the process runs; GET /readyz -> 200 once set_ready(true)
// (the proxy listener is up, the CA and every secret loaded), else 503; anything else 404.
// One thread, one client at a time, each with a 2 s deadline and a 4 KiB head: a stuck
// prober delays the next by at most that. The destructor stops and joins the thread.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace net {

class HealthServer {
 public:
  // LISTENER: a listening TCP socket (listen_tcp).
  static util::Result<std::unique_ptr<HealthServer>> start(util::Fd listener);
  ~HealthServer();
  HealthServer(const HealthServer&) = delete;
  HealthServer& operator=(const HealthServer&) = delete;

  void set_ready(bool ready) { m_ready.store(ready); }

 private:
  HealthServer() = default;
  void loop();
  void serve(int fd);

  util::Fd m_listener;
  util::Fd m_wake_read, m_wake_write;  // the destructor writes a byte: the loop ends
  std::atomic<bool> m_ready{false};
  std::thread m_thread;
};

}  // namespace net
