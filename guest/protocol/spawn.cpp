#include "guest/protocol/spawn.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

extern char** environ;

namespace protocol {

namespace {

util::Result<std::pair<util::Fd, util::Fd>> make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return util::sys_error("pipe2");
  return std::pair<util::Fd, util::Fd>(util::Fd(p[0]), util::Fd(p[1]));
}

// Async-signal-safe message to fd 2: "matchlock: <a><b>: <strerror>\n".
void child_message(const char* a, const char* b, int err) {
  const char* parts[] = {"matchlock: ", a, b, ": ", err ? strerror(err) : "failed", "\n"};
  for (const char* p : parts) {
    ssize_t r = ::write(2, p, strlen(p));
    (void)r;
  }
}

[[noreturn]] void child_fail(const char* what, const char* arg, int code) {
  child_message(what, arg, errno);
  _exit(code);
}

struct ChildPlan {
  char** argv;
  char** envp;
  const char* cwd;
  int fds[3];
  bool tty;
  bool switch_user;
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  size_t ngroups;
};

[[noreturn]] void run_child(const ChildPlan& p) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s = 1; s < NSIG; ++s)
    if (s != SIGKILL && s != SIGSTOP) ::signal(s, SIG_DFL);
  if (setsid() < 0) child_fail("setsid", "", 126);
  if (p.tty && ioctl(p.fds[0], TIOCSCTTY, 0) < 0) child_fail("TIOCSCTTY", "", 126);
  for (int i = 0; i < 3; ++i) {
    if (dup2(p.fds[i], i) < 0) _exit(126);
  }
  if (p.switch_user) {
    if (setgroups(p.ngroups, p.groups) < 0) child_fail("setgroups", "", 126);
    if (setgid(p.gid) < 0) child_fail("setgid", "", 126);
    if (setuid(p.uid) < 0) child_fail("setuid", "", 126);
  }
  if (chdir(p.cwd) < 0) child_fail("chdir ", p.cwd, 126);
  environ = p.envp;
  execvp(p.argv[0], p.argv);
  int err = errno;
  if (err == ENOENT) {
    const char* parts[] = {"matchlock: ", p.argv[0], ": command not found\n"};
    for (const char* s : parts) {
      ssize_t r = ::write(2, s, strlen(s));
      (void)r;
    }
    _exit(127);
  }
  child_message("exec ", p.argv[0], err);
  _exit(126);
}

std::vector<char*> cstrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

util::Result<SpawnedProcess> spawn_exec(const ExecRequest& request, const std::vector<std::string>& env,
                                        const UserIdentity& user, SwitchUser switch_user) {
  SpawnedProcess sp;
  util::Fd child_in, child_out, child_err;
  if (request.tty) {
    util::Fd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
    if (!master) return util::sys_error("open", "/dev/ptmx");
    int unlock = 0;
    if (::ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) return util::sys_error("ioctl(TIOCSPTLCK)");
    winsize ws{};
    ws.ws_row = request.rows;
    ws.ws_col = request.cols;
    if (::ioctl(master.get(), TIOCSWINSZ, &ws) < 0) return util::sys_error("ioctl(TIOCSWINSZ)");
    int slave = ::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) return util::sys_error("ioctl(TIOCGPTPEER)");
    child_in = util::Fd(slave);
    sp.stdin_w = std::move(master);
  } else {
    auto [in_r, in_w] = ML_TRY(make_pipe());
    auto [out_r, out_w] = ML_TRY(make_pipe());
    auto [err_r, err_w] = ML_TRY(make_pipe());
    child_in = std::move(in_r);
    child_out = std::move(out_w);
    child_err = std::move(err_w);
    sp.stdin_w = std::move(in_w);
    sp.stdout_r = std::move(out_r);
    sp.stderr_r = std::move(err_r);
    for (int fd : {sp.stdin_w.get(), sp.stdout_r.get(), sp.stderr_r.get()}) ML_TRY(util::set_nonblocking(fd));
  }
  auto argv = cstrings(request.argv);
  auto envp = cstrings(env);
  std::string cwd = request.cwd.empty() ? "/" : request.cwd;
  ChildPlan plan{};
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.cwd = cwd.c_str();
  plan.tty = request.tty;
  int in = child_in.get();
  plan.fds[0] = in;
  plan.fds[1] = request.tty ? in : child_out.get();
  plan.fds[2] = request.tty ? in : child_err.get();
  plan.switch_user = switch_user == SwitchUser::Yes;
  plan.uid = user.uid;
  plan.gid = user.gid;
  plan.groups = user.groups.data();
  plan.ngroups = user.groups.size();
  pid_t pid = ::fork();
  if (pid < 0) return util::sys_error("fork");
  if (pid == 0) run_child(plan);
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  int saved = errno;
  if (pidfd >= 0) ::fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  sp.process = ChildProcess(pid, util::Fd(pidfd));  // owned from here: killed and reaped on every path
  if (pidfd < 0) {
    errno = saved;
    return util::sys_error("pidfd_open");
  }
  return sp;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : m_pid(std::exchange(other.m_pid, -1)), m_pidfd(std::move(other.m_pidfd)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    m_pid = std::exchange(other.m_pid, -1);
    m_pidfd = std::move(other.m_pidfd);
  }
  return *this;
}

ChildProcess::~ChildProcess() { kill_and_reap(); }

void ChildProcess::kill_and_reap() {
  if (m_pid <= 0) return;
  signal_group(SIGKILL);
  int status;
  while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
  }
  reaped();
}

void ChildProcess::signal_group(int sig) const {
  if (m_pid <= 0) return;
  if (::kill(-m_pid, sig) < 0) ::kill(m_pid, sig);
}

std::optional<int> ChildProcess::try_reap() {
  if (m_pid <= 0) return std::nullopt;
  int status;
  if (::waitpid(m_pid, &status, WNOHANG) != m_pid) return std::nullopt;
  reaped();
  return status;
}

}  // namespace protocol
