// Child: owner of a child process. Killed (SIGKILL) and reaped on destruction
// unless it was waited for or detached, so no VMM outlives a failure path.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace util {

enum class DieWithParent { No, Yes };
enum class NewSession { No, Yes };

struct SpawnOptions {
  std::vector<std::string> argv;
  // Empty: inherit the environment; otherwise exactly these "K=V" entries.
  std::optional<std::vector<std::string>> env;
  std::filesystem::path cwd;
  // -1 inherits; otherwise the fd is dup2'ed onto 0/1/2 in the child.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Extra fds kept open in the child at the same numbers (cloexec cleared).
  std::vector<int> keep_fds;
  DieWithParent die_with_parent = DieWithParent::No;
  NewSession new_session = NewSession::No;
};

struct ExitStatus {
  int code = 0;    // exit code when exited
  int signal = 0;  // terminating signal, or 0
  bool exited() const { return signal == 0; }
  // Shell convention: code, or 128+signal.
  int shell_code() const { return signal ? 128 + signal : code; }
  std::string describe() const;
};

class Child {
 public:
  Child() = default;
  static Result<Child> spawn(const SpawnOptions& options);
  ~Child();
  Child(Child&& other) noexcept : m_pid(other.m_pid) { other.m_pid = -1; }
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return m_pid; }
  bool running() const { return m_pid > 0; }
  Result<ExitStatus> wait();
  // Returns the status if the child has exited, without blocking.
  Result<std::optional<ExitStatus>> try_wait();
  void signal(int sig) const;
  // Stops owning the process (it keeps running).
  pid_t detach();

 private:
  explicit Child(pid_t pid) : m_pid(pid) {}
  pid_t m_pid = -1;
};

struct CommandOutput {
  ExitStatus status;
  std::string out;
  std::string err;
};

// Runs argv to completion, feeding `input` and capturing stdout/stderr.
Result<CommandOutput> run_command(const std::vector<std::string>& argv, std::string_view input = {},
                                  const std::optional<std::vector<std::string>>& env = std::nullopt);

// Looks a program up in PATH; empty when absent.
std::filesystem::path find_program(std::string_view name);

ExitStatus decode_wait_status(int status);

}  // namespace util
