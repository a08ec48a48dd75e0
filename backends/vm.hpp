// Vm: one running guest as the engine drives it, whichever VMM boots it: QEMU
// (backends/qemu/qemu_vm.hpp, a child process) or Virtualization.framework
// (backends/vz/vz_vm.hpp, in-process, macOS only). The engine connects the control channel,
// watches for the guest's end and stops it; everything else (agent protocol, network stack,
// workspace file server) is the same above this line.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "util/fd.hpp"
#include "util/process.hpp"
#include "util/result.hpp"

namespace backends {

class Vm {
 public:
  virtual ~Vm() = default;
  // The agent's control channel (a connected stream), retried until TIMEOUT while the guest
  // boots: QEMU's virtio-serial socket, or VZ's vsock connection to the agent's port.
  virtual util::Result<util::Fd> connect_control(std::chrono::milliseconds timeout) = 0;
  // How the guest ended once it has, without blocking. VZ: code 0 when the guest stopped
  // itself, 1 when VZ stopped it with an error.
  virtual util::Result<std::optional<util::ExitStatus>> poll_exit() = 0;
  // Waits up to TIMEOUT for the guest to end; stops it hard after that.
  virtual util::Result<util::ExitStatus> wait_exit(std::chrono::milliseconds timeout) = 0;
  // Stops the guest at once (no-op when it has ended).
  virtual void kill() = 0;
  // The guest's console, bounded (backends/qemu/console_log.hpp).
  virtual std::filesystem::path console_log() const = 0;
  // A one-line reason the guest failed: the agent's MATCHLOCK-AGENT-FATAL line, a kernel
  // panic, or the VMM's own error. "" if none.
  virtual std::string diagnose() const = 0;

 protected:
  Vm() = default;
  Vm(Vm&&) noexcept = default;
  Vm& operator=(Vm&&) noexcept = default;
};

// The reason in a console log (the agent's fatal line, else a kernel panic), "" if none.
std::string console_diagnosis(const std::string& console);

}  // namespace backends
