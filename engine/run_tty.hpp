// Terminal and signal plumbing for `matchlock run`: raw mode restored on every
// path (RAII), and a signalfd for the signals forwarded to the guest process.
#pragma once

#include <termios.h>

#include <cstdint>
#include <optional>

#include "util/fd.hpp"
#include "util/signal_fd.hpp"
#include "util/result.hpp"

namespace engine {

class RawTerminal {
 public:
  // Puts FD in raw mode when it is a terminal; a no-op otherwise.
  static util::Result<RawTerminal> enter(int fd);
  RawTerminal() = default;
  RawTerminal(RawTerminal&& other) noexcept : m_fd(other.m_fd), m_saved(other.m_saved) { other.m_fd = -1; }
  RawTerminal& operator=(RawTerminal&&) = delete;
  ~RawTerminal();

 private:
  int m_fd = -1;
  termios m_saved{};
};

struct WindowSize {
  uint16_t rows = 24, cols = 80;
};
std::optional<WindowSize> window_size(int fd);

// Blocks SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGWINCH in this thread (threads
// created later inherit it) and returns a signalfd for them. The old mask is
// restored on destruction.
class ForwardedSignals {
 public:
  static util::Result<ForwardedSignals> block();
  ForwardedSignals() = default;
  ForwardedSignals(ForwardedSignals&& other) noexcept;
  ForwardedSignals& operator=(ForwardedSignals&&) = delete;
  ~ForwardedSignals();

  int fd() const { return m_fd.fd(); }
  // A pending SIGINT/SIGTERM/SIGHUP (consumed), or 0: lets a caller give up before exec.
  int take_pending_stop();

 private:
  util::SignalFd m_fd;
  sigset_t m_old{};
  bool m_active = false;
};

}  // namespace engine
