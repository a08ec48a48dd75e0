// Starts an exec request's process: pipes or a pty, new session, user switch,
// cwd, argv[0] looked up in the request's PATH. Exec failures surface as the
// child's exit status (127 not found, 126 otherwise) with a message on its
// stderr, exactly like a shell.
#pragma once

#include <sys/types.h>

#include <optional>

#include "guest/protocol/types.hpp"
#include "guest/protocol/users.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"

namespace protocol {

enum class SwitchUser { No, Yes };

// Owner of a child process (the leader of its own session and process group):
// until it is reaped, destruction SIGKILLs the group and reaps the child, so no
// path leaves a running process or a zombie behind. Move-only.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(pid_t pid, util::Fd pidfd) : m_pid(pid), m_pidfd(std::move(pidfd)) {}
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  // The pid while not reaped, else -1 (a reaped pid may already name another process).
  pid_t pid() const { return m_pid; }
  // Readable once the child exited (poll); -1 once reaped.
  int pidfd() const { return m_pidfd.get(); }
  // Signals the process group (the process alone if the group is gone). No-op once reaped.
  void signal_group(int sig) const;
  // waitpid(WNOHANG): the wait status once it exited (and it is then reaped).
  std::optional<int> try_reap();
  // Someone else reaped it (PID 1 reaps every child): forget the pid.
  void reaped() { m_pid = -1, m_pidfd.reset(); }

 private:
  void kill_and_reap();
  pid_t m_pid = -1;
  util::Fd m_pidfd;
};

struct SpawnedProcess {
  ChildProcess process;
  util::Fd stdin_w;  // with tty: the pty master (also stdout_r is unset)
  util::Fd stdout_r;
  util::Fd stderr_r;
};

util::Result<SpawnedProcess> spawn_exec(const ExecRequest& request, const std::vector<std::string>& env,
                                        const UserIdentity& user, SwitchUser switch_user);

}  // namespace protocol
