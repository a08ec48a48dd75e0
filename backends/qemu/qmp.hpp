// Qmp: a minimal client of QEMU's machine protocol (QMP) on the unix socket
// `qmp.sock` in the VM's state dir. Only what a memory snapshot needs: stop,
// migrate to a file, wait for the migration, continue (docs/ARCHITECTURE.md,
// "Memory snapshots"). Replies are read line by line; events are skipped.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace backends::qemu {

inline constexpr const char* k_qmp_socket = "qmp.sock";

class Qmp {
 public:
  // Connects to SOCKET (retrying until TIMEOUT while QEMU creates it) and
  // negotiates capabilities.
  static util::Result<Qmp> connect(const std::filesystem::path& socket, std::chrono::milliseconds timeout);

  // Runs COMMAND with ARGUMENTS_JSON (a JSON object, "{}" for none); returns the
  // "return" value as JSON text, or QEMU's error as ErrorCode::Guest.
  util::Result<std::string> execute(const std::string& command, const std::string& arguments_json = "{}");

  // `stop`, `migrate` to "exec:cat > PATH" and waits (up to TIMEOUT) until it completed.
  // The VM stays paused; call execute("cont") to run it again.
  util::Result<void> save_to(const std::filesystem::path& path, std::chrono::milliseconds timeout);
  // For a VM started with VmSpec::ram_snapshot: loads the device state from STATE_FD
  // (an fd QEMU inherited: "fd:N"), waits (up to TIMEOUT) until it is in, and continues it.
  util::Result<void> restore_from(int state_fd, std::chrono::milliseconds timeout);

 private:
  explicit Qmp(util::Fd fd) : m_fd(std::move(fd)) {}
  util::Result<void> wait_migration(std::chrono::milliseconds timeout);
  util::Result<std::string> read_line(std::chrono::milliseconds timeout);
  util::Fd m_fd;
  std::string m_buffer;
};

// QEMU's shell-word quoting for "exec:" URIs ('...' with ' as '\'').
std::string shell_quote(const std::string& word);

}  // namespace backends::qemu
