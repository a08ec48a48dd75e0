#include "backends/qemu/console_log.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "util/log.hpp"

namespace backends::qemu {

util::Result<std::unique_ptr<ConsoleLog>> ConsoleLog::start(const std::filesystem::path& path, uint64_t max_bytes) {
  std::unique_ptr<ConsoleLog> c(new ConsoleLog());
  c->m_path = path;
  c->m_max = max_bytes;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return util::sys_error("socketpair (console)");
  c->m_ours = util::Fd(sv[0]);
  c->m_qemu_end = util::Fd(sv[1]);
  c->m_file = ML_TRY(util::open_fd(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
  ConsoleLog* self = c.get();
  c->m_thread = std::thread([self] { self->drain(); });
  return c;
}

ConsoleLog::~ConsoleLog() {
  // Our end is shut down so the thread ends even if a QEMU somewhere still holds its end.
  if (m_ours) ::shutdown(m_ours.get(), SHUT_RDWR);
  if (m_thread.joinable()) m_thread.join();
}

void ConsoleLog::finish() {
  if (m_thread.joinable()) m_thread.join();
}

void ConsoleLog::drain() {
  // Reads until QEMU closes its end. A file error stops the writing, never the reading:
  // an undrained socket would stall the guest's serial port.
  char buf[16384];
  while (true) {
    ssize_t n = util::retry_eintr([&] { return ::read(m_ours.get(), buf, sizeof buf); });
    if (n <= 0) return;
    if (!m_file) continue;
    if (m_size + static_cast<uint64_t>(n) > m_max) {
      // Rotate: the current file becomes .1, a new one starts.
      std::filesystem::path old = m_path;
      old += ".1";
      auto file = ::rename(m_path.c_str(), old.c_str()) == 0
                      ? util::open_fd(m_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600)
                      : util::Result<util::Fd>(util::sys_error("rename", m_path.string()));
      if (!file) util::log::warn("console log: " + file.error().message() + " (no more console output is kept)");
      m_file = file ? std::move(*file) : util::Fd();
      m_size = 0;
      if (!m_file) continue;
    }
    if (!util::write_all(m_file.get(), std::string_view(buf, static_cast<size_t>(n)))) m_file.reset();
    m_size += static_cast<uint64_t>(n);
  }
}

}  // namespace backends::qemu
