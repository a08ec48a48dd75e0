#include "util/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "util/child_setup.hpp"
#include "util/descriptors.hpp"
#include "util/fd.hpp"

namespace util {

std::string ExitStatus::describe() const {
  if (signal) return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  return "exit code " + std::to_string(code);
}

ExitStatus decode_wait_status(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) s.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) s.signal = WTERMSIG(status);
  return s;
}

namespace {

std::vector<char*> to_cstrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Runs in the forked child: only async-signal-safe calls. Reports errno on
// the pipe and exits 127 on failure.
[[noreturn]] void fail_child(int report_fd, int stage) {
  int err[2] = {stage, errno};
  ssize_t r = ::write(report_fd, err, sizeof err);
  (void)r;
  _exit(127);
}

// What the child was doing when it failed (the stage numbers exec_child reports).
const char* stage_name(int stage) {
  switch (stage) {
    case 1:
      return "setsid";
    case 2:
      return "die-with-parent";
    case 3:
      return "dup2";
    case 4:
      return "fcntl";
    case 5:
      return "chdir";
    default:
      return "exec";
  }
}

[[noreturn]] void exec_child(const SpawnOptions& o, int report_fd, char** argv, char** envp) {
  auto fail = [&](int stage) { fail_child(report_fd, stage); };
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int s = 1; s < NSIG; ++s) {
    if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
  }
  if (o.new_session == NewSession::Yes && setsid() < 0) fail(1);
  if (o.die_with_parent == DieWithParent::Yes) {
    if (detail::kill_child_with_parent() < 0) fail(2);
  }
  int fds[3] = {o.stdin_fd, o.stdout_fd, o.stderr_fd};
  for (int i = 0; i < 3; ++i) {
    if (fds[i] < 0) continue;
    if (fds[i] == i) {
      int fl = fcntl(i, F_GETFD);
      fcntl(i, F_SETFD, fl & ~FD_CLOEXEC);
    } else if (dup2(fds[i], i) < 0) {
      fail(3);
    }
  }
  for (int fd : o.keep_fds) {
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC) < 0) fail(4);
  }
  if (!o.cwd.empty() && chdir(o.cwd.c_str()) < 0) fail(5);
  if (envp)
    detail::exec_with_env(argv, envp);
  else
    execvp(argv[0], argv);
  fail_child(report_fd, 6);
}

}  // namespace

Result<Child> Child::spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return make_error(ErrorCode::Internal, "spawn: empty argv");
  int pipefd[2];
  if (pipe_cloexec(pipefd) < 0) return sys_error("pipe");
  Fd rd(pipefd[0]), wr(pipefd[1]);
  auto argv = to_cstrings(options.argv);
  std::vector<char*> envp;
  if (options.env) envp = to_cstrings(*options.env);
  pid_t pid = fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) exec_child(options, wr.get(), argv.data(), options.env ? envp.data() : nullptr);
  wr.reset();
  Child child(pid);
  int report[2];
  ssize_t n = retry_eintr([&] { return ::read(rd.get(), report, sizeof report); });
  if (n == static_cast<ssize_t>(sizeof report)) {
    (void)child.wait();
    Error e = sys_error_code(report[1], stage_name(report[0]), options.argv[0]);
    return e;
  }
  return child;
}

Child::~Child() {
  if (m_pid > 0) {
    ::kill(m_pid, SIGKILL);
    int status;
    retry_eintr([&] { return ::waitpid(m_pid, &status, 0); });
  }
}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    Child tmp(std::move(*this));
    m_pid = other.m_pid;
    other.m_pid = -1;
  }
  return *this;
}

Result<ExitStatus> Child::wait() {
  if (m_pid <= 0) return make_error(ErrorCode::Internal, "wait: no child");
  int status;
  pid_t r = retry_eintr([&] { return ::waitpid(m_pid, &status, 0); });
  if (r < 0) return sys_error("waitpid");
  m_pid = -1;
  return decode_wait_status(status);
}

Result<std::optional<ExitStatus>> Child::try_wait() {
  if (m_pid <= 0) return make_error(ErrorCode::Internal, "wait: no child");
  int status;
  pid_t r = retry_eintr([&] { return ::waitpid(m_pid, &status, WNOHANG); });
  if (r < 0) return sys_error("waitpid");
  if (r == 0) return std::optional<ExitStatus>{};
  m_pid = -1;
  return std::optional<ExitStatus>(decode_wait_status(status));
}

void Child::signal(int sig) const {
  if (m_pid > 0) ::kill(m_pid, sig);
}

pid_t Child::detach() {
  pid_t p = m_pid;
  m_pid = -1;
  return p;
}

Result<CommandOutput> run_command(const std::vector<std::string>& argv, std::string_view input,
                                  const std::optional<std::vector<std::string>>& env) {
  int in[2], out[2], err[2];
  if (pipe_cloexec(in) < 0) return sys_error("pipe");
  Fd in_r(in[0]), in_w(in[1]);
  if (pipe_cloexec(out) < 0) return sys_error("pipe");
  Fd out_r(out[0]), out_w(out[1]);
  if (pipe_cloexec(err) < 0) return sys_error("pipe");
  Fd err_r(err[0]), err_w(err[1]);
  SpawnOptions o;
  o.argv = argv;
  o.env = env;
  o.stdin_fd = in_r.get();
  o.stdout_fd = out_w.get();
  o.stderr_fd = err_w.get();
  Child child = ML_TRY_CTX(Child::spawn(o), "run " + argv[0]);
  in_r.reset();
  out_w.reset();
  err_w.reset();
  CommandOutput result;
  ML_TRY(set_nonblocking(in_w.get()));
  size_t written = 0;
  if (input.empty()) in_w.reset();
  sighandler_t old = ::signal(SIGPIPE, SIG_IGN);
  while (out_r || err_r) {
    pollfd pfds[3];
    int n = 0;
    if (out_r) pfds[n++] = {out_r.get(), POLLIN, 0};
    if (err_r) pfds[n++] = {err_r.get(), POLLIN, 0};
    if (in_w) pfds[n++] = {in_w.get(), POLLOUT, 0};
    if (retry_eintr([&] { return ::poll(pfds, n, -1); }) < 0) break;
    for (int i = 0; i < n; ++i) {
      if (!pfds[i].revents) continue;
      if (in_w && pfds[i].fd == in_w.get()) {
        ssize_t w = ::write(in_w.get(), input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) in_w.reset();
        if (written == input.size()) in_w.reset();
        continue;
      }
      Fd& src = (out_r && pfds[i].fd == out_r.get()) ? out_r : err_r;
      std::string& dst = (&src == &out_r) ? result.out : result.err;
      char buf[65536];
      ssize_t r = retry_eintr([&] { return ::read(src.get(), buf, sizeof buf); });
      if (r <= 0)
        src.reset();
      else
        dst.append(buf, static_cast<size_t>(r));
    }
  }
  ::signal(SIGPIPE, old);
  result.status = ML_TRY(child.wait());
  return result;
}

std::filesystem::path find_program(std::string_view name) {
  if (name.find('/') != std::string_view::npos) {
    return ::access(std::string(name).c_str(), X_OK) == 0 ? std::filesystem::path(name) : std::filesystem::path();
  }
  const char* path = getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  p += ":/usr/local/sbin:/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::filesystem::path candidate = std::filesystem::path(p.substr(start, end - start)) / name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

}  // namespace util
