// PID-1 plumbing of the guest agent, separate from the protocol serving code:
// early mounts, kernel modules, the control port, console messages, power off.
#pragma once

#include <string>
#include <string_view>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace agent {

// Mounts /proc /sys /dev /dev/pts /dev/shm /run and points fds 0-2 at /dev/console.
util::Result<void> early_mounts();
// Loads /lib/modules/<file> for each line of /lib/modules/order (EEXIST ignored).
// A missing order file means everything is built in.
util::Result<int> load_modules(const std::string& dir = "/lib/modules");
// The text of /proc/cmdline (trailing newline removed).
std::string kernel_cmdline();
// Contents of /proc/cmdline has the word `word` (e.g. "matchlock.probe=1").
bool cmdline_has(std::string_view word);
// Finds the virtio-serial port named `name` (waits up to timeout_ms for it to appear).
util::Result<util::Fd> open_virtio_port(std::string_view name, int timeout_ms);
// Waits until the host side of a virtio-serial port is connected (no POLLHUP).
util::Result<void> wait_host_connected(int fd, int timeout_ms);
// Writes a line to /dev/console.
void console(std::string_view line);
// Milliseconds since the kernel started.
int64_t boot_ms();
// Kills every process, syncs, detaches mounts and powers off. Never returns.
[[noreturn]] void power_off();

}  // namespace agent
