// Test harness: the host Client and the guest Server in one process over a
// socketpair; the server executes real host processes.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "guest/protocol/client.hpp"
#include "guest/protocol/server.hpp"
#include "util/fd.hpp"

namespace protocol_test {

class FakeSystem : public protocol::System {
 public:
  util::Result<protocol::BootInfo> boot(const protocol::BootConfig& config) override {
    booted = config;
    if (config.hostname == "fail") return util::make_error(util::ErrorCode::Io, "mount /run/ml/lower: no such device");
    protocol::BootInfo info;
    info.uname = "Linux fake";
    info.agent_version = "test";
    info.timings_ms = {{"ready", 7}};
    return info;
  }
  void prepare_shutdown() override { shutdown_prepared = true; }
  util::Result<void> freeze_writable(protocol::Freeze op) override {
    if (!freeze_supported) return util::make_error(util::ErrorCode::Unsupported, "cannot freeze here");
    ++(op == protocol::Freeze::Freeze ? freezes : thaws);
    return util::ok();
  }
  void set_clock(int64_t unix_ns) override {
    clock_ns = unix_ns;
    ++clock_syncs;
  }
  std::atomic<bool> freeze_supported{true};
  std::atomic<int64_t> clock_ns{0};
  std::atomic<int> clock_syncs{0};
  std::atomic<int> freezes{0}, thaws{0};
  std::optional<protocol::BootConfig> booted;
  bool shutdown_prepared = false;
};

inline std::pair<util::Fd, util::Fd> socket_pair() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw std::runtime_error("socketpair");
  return {util::Fd(sv[0]), util::Fd(sv[1])};
}

// The Server writes to pipes of processes that may have exited; like the
// agent (which ignores SIGPIPE as PID 1), the test process must not die of it.
inline void ignore_sigpipe() { ::signal(SIGPIPE, SIG_IGN); }

struct Harness {
  Harness() {
    ignore_sigpipe();
    auto [host, guest] = socket_pair();
    auto server = protocol::Server::create(std::move(guest), system, {});
    if (!server) throw std::runtime_error(server.error().message());
    thread = std::thread([this, s = std::make_shared<protocol::Server>(std::move(*server))]() mutable {
      end = s->run(why);
      s.reset();  // kills what is left before the test looks
      done = true;
    });
    auto c = protocol::Client::handshake(std::move(host), std::chrono::seconds(5));
    if (!c) throw std::runtime_error(c.error().message());
    client.emplace(std::move(*c));
  }
  ~Harness() {
    client.reset();
    if (thread.joinable()) thread.join();
  }
  void stop_client() {
    client.reset();
    thread.join();
  }

  FakeSystem system;
  std::thread thread;
  protocol::ServeEnd end = protocol::ServeEnd::ProtocolError;
  std::string why;
  bool done = false;
  std::optional<protocol::Client> client;
};

// Collects everything written to a pipe on a background thread.
class PipeReader {
 public:
  PipeReader() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    m_read = util::Fd(p[0]);
    write_end = util::Fd(p[1]);
    m_thread = std::thread([this] {
      char buf[65536];
      for (;;) {
        ssize_t n = ::read(m_read.get(), buf, sizeof buf);
        if (n <= 0) return;
        std::lock_guard lock(m_mu);
        m_data.append(buf, static_cast<size_t>(n));
      }
    });
  }
  ~PipeReader() {
    write_end.reset();
    if (m_thread.joinable()) m_thread.join();
  }
  // Closes our write end and waits for EOF: everything written is in data().
  std::string finish() {
    write_end.reset();
    if (m_thread.joinable()) m_thread.join();
    return data();
  }
  std::string data() {
    std::lock_guard lock(m_mu);
    return m_data;
  }
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (data().find(needle) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  util::Fd write_end;

 private:
  util::Fd m_read;
  std::thread m_thread;
  std::mutex m_mu;
  std::string m_data;
};

}  // namespace protocol_test
