// matchlock-agent: PID 1 of the VM (static). Early mounts, modules, control
// port, then serves the protocol (guest/protocol/server.hpp); the host's Boot
// request overlays the disks as the root and switch_roots in-process.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "guest/agent/pid1.hpp"
#include "guest/agent/vm_system.hpp"
#include "guest/agent/vsock_control.hpp"
#include "guest/protocol/control_transport.hpp"
#include "guest/protocol/server.hpp"
#include "guest/protocol/version.hpp"

namespace {

constexpr const char* k_port_name = "matchlock.ctl";
constexpr int k_port_timeout_ms = 10000;
constexpr int k_connect_timeout_ms = 60000;

[[noreturn]] void fatal(const std::string& message) {
  agent::console("MATCHLOCK-AGENT-FATAL: " + message);
  agent::power_off();
}

// The control channel the kernel command line names: QEMU's virtio-serial port (the default)
// or a vsock port the host connects to (Virtualization.framework).
util::Result<util::Fd> open_control() {
  auto transport = ML_TRY(protocol::parse_control_transport(agent::kernel_cmdline()));
  if (transport.kind == protocol::ControlKind::Vsock) {
    util::Fd listener = ML_TRY(agent::listen_vsock(transport.port));
    return agent::accept_host(listener.get(), k_connect_timeout_ms);
  }
  util::Fd port = ML_TRY(agent::open_virtio_port(k_port_name, k_port_timeout_ms));
  ML_TRY(agent::wait_host_connected(port.get(), k_connect_timeout_ms));
  return port;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--version") == 0) {
    std::printf("matchlock-agent %s (protocol %d)\n", protocol::k_agent_version, protocol::k_version);
    return 0;
  }
  if (::getpid() != 1) {
    std::fprintf(stderr, "matchlock-agent: must run as PID 1 (init) inside a matchlock VM\n");
    return 2;
  }
  std::vector<std::pair<std::string, int64_t>> timings = {{"agent_start", agent::boot_ms()}};
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);  // read through the server's signalfd
  ::signal(SIGPIPE, SIG_IGN);

  if (auto r = agent::early_mounts(); !r) fatal(r.error().message());
  if (agent::cmdline_has("matchlock.probe=1")) {
    agent::console("MATCHLOCK-PROBE-OK");
    agent::power_off();
  }
  if (auto r = agent::load_modules(); !r) fatal("loading modules: " + r.error().message());
  timings.emplace_back("modules", agent::boot_ms());
  auto port = open_control();
  if (!port) fatal(port.error().message());
  timings.emplace_back("host_connected", agent::boot_ms());

  agent::VmSystem system(std::move(timings));
  protocol::ServerOptions options;
  options.reap = protocol::Reap::All;
  auto server = protocol::Server::create(std::move(*port), system, options);
  if (!server) fatal(server.error().message());
  std::string why;
  protocol::ServeEnd end = server->run(why);
  switch (end) {
    case protocol::ServeEnd::BootFailed:
      fatal("boot: " + why);
    case protocol::ServeEnd::ProtocolError:
      fatal(why);
    case protocol::ServeEnd::Shutdown:
    case protocol::ServeEnd::Disconnected:
    case protocol::ServeEnd::Suspended:  // run() never returns it
      break;
  }
  agent::power_off();
}
