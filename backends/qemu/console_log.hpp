// ConsoleLog: the guest's serial console, written to <state>/console.log by us, not by
// QEMU. The guest decides how much it prints (`cat /dev/zero > /dev/ttyS0`), so the file
// is bounded: when console.log reaches k_console_log_max bytes it becomes console.log.1
// (replacing the previous one) and a new console.log starts. At most twice the cap is on
// disk per sandbox; the newest lines (a panic, the agent's fatal line) are always kept.
// QEMU writes into a socketpair (`-chardev socket,fd=N`); one thread drains it until QEMU
// closes its end. The owner joins that thread (after QEMU is gone) on destruction.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <thread>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace backends::qemu {

inline constexpr uint64_t k_console_log_max = 4ull << 20;

class ConsoleLog {
 public:
  // Creates the socketpair and starts draining into PATH (truncated).
  static util::Result<std::unique_ptr<ConsoleLog>> start(const std::filesystem::path& path,
                                                         uint64_t max_bytes = k_console_log_max);
  ~ConsoleLog();
  ConsoleLog(const ConsoleLog&) = delete;
  ConsoleLog& operator=(const ConsoleLog&) = delete;

  // QEMU's end, to pass with keep_fds; close it (release_qemu_end) once QEMU has it.
  int qemu_end() const { return m_qemu_end.get(); }
  void release_qemu_end() { m_qemu_end.reset(); }
  // After QEMU exited: waits until everything it wrote is in the file.
  void finish();

 private:
  ConsoleLog() = default;
  void drain();

  std::filesystem::path m_path;
  uint64_t m_max = k_console_log_max;
  util::Fd m_ours;
  util::Fd m_qemu_end;
  util::Fd m_file;
  uint64_t m_size = 0;
  std::thread m_thread;
};

}  // namespace backends::qemu
