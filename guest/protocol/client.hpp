// protocol::Client: the host end of the control stream to a guest agent.
//
// Owns the stream fd (a unix socket to QEMU's virtio-serial chardev, or one
// end of a socketpair in tests) and one I/O thread that reads and writes
// frames; it never blocks on a slow consumer. Every operation opens its own
// channel with its own credit window, so any number of execs / file
// transfers / streams may run concurrently from different threads, and a
// stalled reader of one exec never stalls another.
//
// All methods are thread-safe. After the agent disconnects, every call fails
// with ErrorCode::Guest ("guest agent disconnected: ...").
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "guest/protocol/types.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace protocol {

// Where an exec's streams go. All fds stay owned by the caller and may be
// blocking; -1 means: stdin empty (EOF at once), stdout/stderr discarded.
struct ExecIo {
  int stdin_fd = -1;
  int stdout_fd = -1;  // with tty: the merged pty output
  int stderr_fd = -1;  // unused with tty
  // Optional signalfd (created by the caller with the signals blocked).
  // SIGWINCH -> resize the guest pty to the size of `winsize_fd` (TIOCGWINSZ);
  // any other signal (SIGINT, SIGTERM, SIGHUP, ...) -> forwarded to the guest process.
  int signal_fd = -1;
  int winsize_fd = -1;  // usually the local terminal; -1: SIGWINCH ignored
};

class Stream;

class Client {
 public:
  // Sends our Hello and waits up to `timeout` for the agent's Hello. Fails with
  // ErrorCode::Guest on timeout, disconnect or a protocol version mismatch.
  static util::Result<Client> handshake(util::Fd stream, std::chrono::milliseconds timeout);

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();  // closes the stream (the agent then powers off) and joins the I/O thread

  int peer_version() const;
  const std::string& agent_version() const;

  // Boot: clock, disks, overlay root, switch_root, hostname, /etc/hosts.
  util::Result<BootInfo> boot(const BootConfig& config, std::chrono::milliseconds timeout);

  // Runs a process in the guest and pumps its streams to/from `io` until it
  // exits and its output is drained. Blocks the calling thread.
  util::Result<ExecResult> exec(const ExecRequest& request, const ExecIo& io);

  // Writes a whole file atomically (temp file + rename) with `mode`. Without `user`
  // parent directories must exist and the owner is the agent's user (root in the VM);
  // with `user` (a guest user spec, looked up in the guest) the file and the parent
  // directories it creates (0700) belong to that user, and a path may start with "~/"
  // (their home).
  util::Result<void> put_file(const std::string& guest_path, std::string_view data, int mode,
                              const std::string& user = {});
  // Reads a whole regular file; fails if it is larger than `max_size`.
  util::Result<std::string> get_file(const std::string& guest_path, size_t max_size = size_t{64} << 20);

  // Raw bidirectional byte stream to a named service in the guest.
  // kind "tcp": connects to guest 127.0.0.1:<port> (port-forward). Later
  // issues add more kinds (network frames, FUSE) on the same mechanism.
  util::Result<Stream> open_stream(std::string_view kind, int port);

  // Cached task layers: freezes (syncs, flushes the journal of, blocks writes to)
  // the guest's writable disk until thaw_writable(), so the host can copy it.
  util::Result<void> freeze_writable(std::chrono::milliseconds timeout);
  util::Result<void> thaw_writable(std::chrono::milliseconds timeout);

  // Memory snapshots (docs/protocol.md, "suspend"/"resume"). suspend: the agent closes
  // every channel, answers, and from then on treats EOF as "wait for the next connection";
  // the caller then closes this client. resume (on that next connection, after the
  // handshake): the agent reseeds its CRNG with config.entropy, sets clock, hostname,
  // hosts and CA, and serves config.mounts.
  util::Result<void> suspend(std::chrono::milliseconds timeout);
  util::Result<void> resume(const ResumeConfig& config, std::chrono::milliseconds timeout);

  // Tells the agent the host's CLOCK_REALTIME now; it slews or steps the guest clock
  // (k_clock_slew_ns, k_clock_step_ns). Fire and forget (no answer): safe to call
  // from any thread while other session ops wait. engine/clock_sync calls it periodically.
  void sync_clock();

  // Asks the agent to kill all processes, sync, unmount and power off; waits
  // up to `timeout` for its acknowledgement.
  util::Result<void> shutdown(std::chrono::milliseconds timeout);

  // True until the stream hit EOF/an error or a protocol violation.
  bool connected() const;

  struct Impl;

 private:
  explicit Client(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> m_impl;
};

// A raw stream channel (see Client::open_stream). Blocking, thread-compatible
// (one reader thread and one writer thread may use it at the same time).
class Stream {
 public:
  Stream(Stream&&) noexcept;
  Stream& operator=(Stream&&) noexcept;
  ~Stream();  // closes the channel

  // Sends bytes, waiting for credit as needed.
  util::Result<void> write(std::string_view data);
  // Half-close: the guest side sees EOF.
  util::Result<void> close_write();
  // Next chunk of bytes; std::nullopt at EOF.
  util::Result<std::optional<std::string>> read();

  struct State;

 private:
  friend class Client;
  Stream(std::shared_ptr<Client::Impl> client, std::shared_ptr<State> state);
  std::shared_ptr<Client::Impl> m_client;
  std::shared_ptr<State> m_state;
};

}  // namespace protocol
