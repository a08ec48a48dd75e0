// Signals and window-size changes for an exec running through the supervisor.
// After `{"op":"exec"}` the CLI keeps the connection open and may send
//   {"op":"signal","signal":N}   forward signal N to the guest process group
//   {"op":"resize"}              the terminal (the stdin fd it passed) changed size
// The relay reads them on a thread and feeds them to protocol::Client::exec as
// util::SignalRecord records (ExecIo::signal_fd). A CLI that disconnects before the exec
// ends counts as a hangup (SIGHUP), like a closed terminal.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace engine {

class ExecSignalRelay {
 public:
  // CONN: the client connection (borrowed; must outlive the relay).
  static util::Result<std::unique_ptr<ExecSignalRelay>> start(int conn);
  ~ExecSignalRelay();  // stops reading CONN (shutdown SHUT_RD) and joins the thread

  int signal_fd() const { return m_read.get(); }

 private:
  ExecSignalRelay(int conn, util::Fd read, util::Fd write)
      : m_conn(conn), m_read(std::move(read)), m_write(std::move(write)) {}
  void run();
  void push(int signal);

  int m_conn;
  util::Fd m_read, m_write;
  std::atomic<bool> m_stopping{false};
  std::thread m_thread;
};

}  // namespace engine
