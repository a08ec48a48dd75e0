// protocol::Server: the guest end of the control stream. Single-threaded poll
// loop: Hello exchange, session ops (boot, shutdown) delegated to a System,
// and any number of channels (exec, put, get, tcp) with credit flow control.
// It never touches mounts or power state itself, so it runs unprivileged in
// unit tests with the host Client on the other end of a socketpair.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "guest/protocol/frame.hpp"
#include "guest/protocol/guest_channel.hpp"
#include "guest/protocol/types.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace protocol {

enum class Freeze { Freeze, Thaw };

// Privileged actions of PID 1 (guest/agent/); tests pass a fake.
class System {
 public:
  virtual ~System() = default;
  virtual util::Result<BootInfo> boot(const BootConfig& config) = 0;
  // Session ops "freeze"/"thaw": FIFREEZE/FITHAW the writable disk's filesystem
  // so the host can copy it as a cached task layer.
  virtual util::Result<void> freeze_writable(Freeze op) {
    (void)op;
    return util::make_error(util::ErrorCode::Unsupported, "this agent cannot freeze its writable disk");
  }
  // Session op "clock": the host's CLOCK_REALTIME as it sent the op; the agent slews
  // or steps its clock (k_clock_slew_ns, k_clock_step_ns in types.hpp). No answer.
  virtual void set_clock(int64_t unix_ns) { (void)unix_ns; }
  // Session op "resume" (after "suspend" and a new connection): apply what a VM
  // resumed from a memory snapshot must not share with its siblings (ResumeConfig).
  virtual util::Result<void> resume(const ResumeConfig& config) {
    (void)config;
    return util::make_error(util::ErrorCode::Unsupported, "this agent cannot resume");
  }
  // Before the shutdown acknowledgement: stop processes and sync disks.
  virtual void prepare_shutdown() = 0;
  // Mounts FUSE at MOUNT.target and returns the /dev/fuse fd (a "fuse" channel
  // then pumps it). Default: unsupported (unit-test systems).
  virtual util::Result<util::Fd> open_fuse(const MountSpec& mount);
};

enum class Reap { Own, All };  // All: PID 1, also reaps orphans (SIGCHLD signalfd)

struct ServerOptions {
  Reap reap = Reap::Own;
  std::filesystem::path root = "/";       // etc/passwd + etc/group for user lookup
  size_t outbox_limit = size_t{1} << 20;  // stop reading processes beyond this
};

// Suspended is internal to run(): it then waits for the next connection.
enum class ServeEnd { Shutdown, Disconnected, BootFailed, ProtocolError, Suspended };

class Server {
 public:
  // `stream` is set non-blocking. SIGPIPE must be ignored in the process
  // (the agent does; so do the tests). With Reap::All, SIGCHLD must be blocked in
  // the caller (the agent is single-threaded).
  static util::Result<Server> create(util::Fd stream, System& system, ServerOptions options);
  Server(Server&&) noexcept = default;
  Server& operator=(Server&&) noexcept = delete;
  ~Server();

  // Serves until shutdown, disconnect or a fatal error. `why` gets a message.
  ServeEnd run(std::string& why);

 private:
  Server(util::Fd stream, util::Fd sigchld, System& system, ServerOptions options);
  ServeEnd serve_connection(FrameDecoder& decoder, std::string& why);
  util::Result<void> handle_frame(Frame& f, bool& stop, ServeEnd& end, std::string& why);
  void reap_all();
  void flush_blocking(int timeout_ms);

  util::Fd m_stream;
  util::Fd m_sigchld;
  System* m_system;
  ServerOptions m_options;
  std::string m_outbox;
  std::map<uint32_t, std::unique_ptr<GuestChannel>> m_channels;
  bool m_hello_seen = false;
  // After "suspend": the host's end goes away (the VM is saved, maybe resumed elsewhere);
  // EOF is not the end, the next bytes are a new connection's Hello, then "resume".
  bool m_suspended = false;
  bool m_resume_expected = false;
  GuestContext m_context;
};

}  // namespace protocol
