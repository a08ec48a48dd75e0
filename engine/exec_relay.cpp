#include "engine/exec_relay.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "engine/supervisor_wire.hpp"
#include "util/descriptors.hpp"
#include "util/signal_fd.hpp"

namespace engine {

util::Result<std::unique_ptr<ExecSignalRelay>> ExecSignalRelay::start(int conn) {
  int p[2];
  if (util::pipe_cloexec(p) < 0) return util::sys_error("pipe");
  util::Fd read(p[0]), write(p[1]);
  ML_TRY(util::set_nonblocking(write.get()));  // a full pipe drops a signal rather than blocking the relay
  std::unique_ptr<ExecSignalRelay> relay(new ExecSignalRelay(conn, std::move(read), std::move(write)));
  relay->m_thread = std::thread([r = relay.get()] { r->run(); });
  return relay;
}

ExecSignalRelay::~ExecSignalRelay() {
  m_stopping = true;
  ::shutdown(m_conn, SHUT_RD);  // wakes the blocked recv with EOF
  if (m_thread.joinable()) m_thread.join();
}

void ExecSignalRelay::push(int signal) { (void)util::write_signal(m_write.get(), signal); }

void ExecSignalRelay::run() {
  for (;;) {
    auto msg = recv_message(m_conn);
    if (!msg) {
      if (!m_stopping) push(SIGHUP);  // the CLI went away mid-exec
      return;
    }
    auto j = nlohmann::json::parse(msg->line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    std::string op = j.value("op", "");
    if (op == "resize") {
      push(SIGWINCH);
    } else if (op == "signal") {
      int sig = j.value("signal", 0);
      if (sig > 0 && sig < NSIG && sig != SIGKILL && sig != SIGSTOP && sig != SIGWINCH) push(sig);
    }
  }
}

}  // namespace engine
