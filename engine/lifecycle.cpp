#include "engine/lifecycle.hpp"

#include "engine/net_setup.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/config_parse.hpp"
#include "engine/discover.hpp"
#include "engine/machine_policy.hpp"
#include "engine/run_tty.hpp"
#include "engine/supervisor_wire.hpp"
#include "engine/task_graph.hpp"
#include "engine/volumes.hpp"
#include "util/fs.hpp"
#include "util/process_info.hpp"
#include "util/log.hpp"
#include "util/process.hpp"
#include "util/sha256.hpp"

namespace engine {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr auto k_boot_wait = 900s;  // TCG on a loaded host, first image build included

int64_t ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

// The supervisor's answer on SOCK ({"ok":false,...} is an error).
util::Result<json> read_reply(int sock) {
  auto msg = recv_message(sock);
  if (!msg) return std::move(msg).error().context("supervisor");
  try {
    json reply = json::parse(msg->line);
    if (!reply.value("ok", false))
      return util::make_error(util::ErrorCode::Guest, reply.value("error", std::string("request failed")));
    return reply;
  } catch (const json::exception& e) {
    return util::make_error(util::ErrorCode::Internal, std::string("supervisor reply: ") + e.what());
  }
}

// One request/response exchange with the supervisor.
util::Result<json> call(const SandboxPaths& paths, const json& request, const std::vector<int>& fds = {}) {
  util::Fd sock = ML_TRY_CTX(connect_unix(paths.socket()), "supervisor");
  ML_TRY(send_message(sock.get(), request.dump(), fds));
  return read_reply(sock.get());
}

// Until the exec's reply arrives, our SIGINT/SIGTERM/SIGHUP/SIGQUIT go to the guest
// process and, with a tty, SIGWINCH becomes a resize (engine/exec_relay.hpp).
util::Result<json> call_exec(const SandboxPaths& paths, const json& request, const std::vector<int>& fds, bool tty) {
  auto signals = ML_TRY(ForwardedSignals::block());
  util::Fd sock = ML_TRY_CTX(connect_unix(paths.socket()), "supervisor");
  ML_TRY(send_message(sock.get(), request.dump(), fds));
  for (;;) {
    pollfd p[2] = {{sock.get(), POLLIN, 0}, {signals.fd(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return util::sys_error("poll");
    }
    while (int signo = (p[1].revents & POLLIN) ? util::read_signal(signals.fd()) : 0) {
      if (signo == SIGWINCH && !tty) continue;
      json m = signo == SIGWINCH ? json{{"op", "resize"}} : json{{"op", "signal"}, {"signal", signo}};
      (void)send_message(sock.get(), m.dump());
    }
    if (p[0].revents) return read_reply(sock.get());
  }
}

std::string log_tail(const SandboxPaths& paths) {
  auto text = util::read_file(paths.log());
  if (!text) return {};
  std::string t = *text;
  if (t.size() > 4000) t = "..." + t.substr(t.size() - 4000);
  return t;
}

util::Result<util::Child> spawn_supervisor(const SandboxPaths& paths, const SandboxTarget& target) {
  fs::path self = ML_TRY(util::self_executable());
  util::Fd null = ML_TRY(util::open_fd("/dev/null", O_RDONLY | O_CLOEXEC));
  util::Fd log = ML_TRY(util::open_fd(paths.log(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  util::SpawnOptions o;
  o.argv = {self.string(), "__supervise", "--name", target.name, "--file", target.config.file.string()};
  if (target.no_snapshot) o.argv.push_back("--no-snapshot");
  o.stdin_fd = null.get();
  o.stdout_fd = log.get();
  o.stderr_fd = log.get();
  o.cwd = "/";
  o.new_session = util::NewSession::Yes;
  return util::Child::spawn(o);
}

util::Result<SandboxRecord> wait_ready(const SandboxPaths& paths, util::Child& child) {
  auto deadline = std::chrono::steady_clock::now() + k_boot_wait;
  const pid_t pid = child.pid();  // the Child forgets it once reaped
  while (std::chrono::steady_clock::now() < deadline) {
    auto exited = ML_TRY(child.try_wait());
    auto record = read_record(paths);
    if (record && record->pid == child.pid() && record->state == SandboxState::Running) return *record;
    if (exited || (record && record->pid == child.pid() && record->state == SandboxState::Stopped)) {
      std::string why = record && !record->error.empty() ? record->error : "the supervisor exited";
      // A bad Matchlockfile or an unset secret is the user's error (exit 2), not the VM's.
      auto code = record && record->pid == pid ? error_code_of_kind(record->error_kind) : util::ErrorCode::Guest;
      if (code != util::ErrorCode::Guest) return util::make_error(code, "sandbox failed to start: " + why);
      return util::make_error(util::ErrorCode::Guest, "sandbox failed to start: " + why + "\n--- " +
                                                          paths.log().string() + ":\n" + log_tail(paths));
    }
    std::this_thread::sleep_for(50ms);
  }
  child.signal(SIGTERM);
  return util::make_error(util::ErrorCode::Guest, "sandbox not ready after " + std::to_string(k_boot_wait.count()) +
                                                      " s; see " + paths.log().string());
}

std::string describe_change(const SandboxPaths& paths, const Config& config) {
  auto out = util::run_command(
      {"diff", "-u", "--label", "booted", "--label", "now", paths.booted_file().string(), config.file.string()});
  if (out && !out->out.empty()) return out->out;
  return "the Matchlockfile differs from the one the sandbox booted with\n";
}

}  // namespace

util::Result<SandboxTarget> resolve_target(const std::string& file, const std::string& name) {
  std::error_code ec;
  fs::path path = ML_TRY(discover_matchlockfile(file, fs::current_path(ec)));
  SandboxTarget t{ML_TRY(load_config(fs::absolute(path))), name};
  if (t.name.empty()) t.name = t.config.name;
  ML_TRY(check_sandbox_name(t.name));
  return t;
}

util::Result<SandboxRecord> sandbox_status(const util::Dirs& dirs, const std::string& name) {
  ML_TRY(check_sandbox_name(name));
  auto paths = sandbox_paths(dirs, name);
  if (!util::path_exists(paths.record()))
    return util::make_error(util::ErrorCode::NotFound, "no sandbox named '" + name + "'");
  auto record = ML_TRY(read_record(paths));
  record.state = effective_state(record);
  return record;
}

std::vector<std::string> up_plan(const util::Dirs& dirs, const SandboxTarget& t) {
  auto paths = sandbox_paths(dirs, t.name);
  const auto& c = t.config;
  std::vector<std::string> plan;
  plan.push_back("resolve image " + c.sandbox.image_text + " (pull + ext4 rootfs, cached)");
  plan.push_back("mkdir -m 0700 " + paths.dir.string());
  plan.push_back("supervisor: matchlock __supervise --name " + t.name + " (own session, log " + paths.log().string() +
                 ")");
  plan.push_back("--disk " + paths.upper().string() + " (sparse writable ext4, " +
                 std::to_string(c.sandbox.disk_bytes >> 20) + " MiB)");
  plan.push_back("--vm qemu " + (c.sandbox.platform.empty() ? std::string("(host platform)") : c.sandbox.platform) +
                 " cpus=" + std::to_string(c.sandbox.cpus) + " memory=" + std::to_string(c.sandbox.memory_bytes >> 20) +
                 "MiB");
  plan.push_back("--hostname " + (c.sandbox.hostname.empty() ? c.name : c.sandbox.hostname));
  for (const auto& [k, v] : c.sandbox.env) plan.push_back("--setenv " + k + " " + v);
  for (const auto& p : c.ports)
    plan.push_back("--port 127.0.0.1:" + std::to_string(p.host) + " -> guest 127.0.0.1:" + std::to_string(p.guest));
  if (c.ports_auto)
    plan.push_back("--port auto (every guest listener >= 1024 -> a free 127.0.0.1 port; matchlock port lists them)");
  for (const auto& m : c.mounts) {
    std::string line = "--mount " + mount_source_label(m) + " -> " + m.target + " (" + to_string(m.mode) + ")";
    if (!m.volume.empty()) line += " " + volume_dir(dirs, t.name, m.volume).string() + "/data";
    for (const auto& e : m.exclude) line += " --exclude " + e;
    if (m.cache == MountCache::None) line += " --cache none";
    plan.push_back(line);
  }
  for (const auto& r : c.allowed_rules()) plan.push_back("--allow " + r.to_string());
  for (const auto& r : c.network.deny) plan.push_back("--deny " + r.to_string());
  for (const auto& sv : c.network.services)
    plan.push_back("--service " + sv.text() + " (the guest's name and port -> this host endpoint only)");
  for (const auto& f : c.policy.files) plan.push_back("--policy " + f.string());
  for (const auto& r : c.policy.deny) plan.push_back("--deny " + r.to_string() + " (policy)");
  for (const auto& line : c.policy.cut) plan.push_back("--policy-cut " + line);
  for (const auto& s : c.secrets) {
    if (s.json.empty())
      plan.push_back("--secret " + s.name + " (placeholder in the guest; real value only toward its hosts)");
    for (const auto& f : s.json) plan.push_back("--secret " + s.name + "." + f + " (json field: its own placeholder)");
    if (!s.file.empty())
      plan.push_back("--secret-file " + s.file + " (secrets." + s.name + ", 0600, " +
                     (s.json.empty() ? s.file_template ? "template" : "the placeholder" : "the JSON document") +
                     " with placeholders, never values)");
  }
  plan.push_back("--listen " + paths.socket().string() + " (0600)");
  for (const auto& task : c.up) plan.push_back("--task " + task);
  return plan;
}

util::Result<UpResult> ensure_up(const util::Dirs& dirs, const SandboxTarget& t, Recreate recreate) {
  auto t0 = std::chrono::steady_clock::now();
  ML_TRY(refuse_cluster_secrets(t.config));
  auto paths = sandbox_paths(dirs, t.name);
  if (util::path_exists(paths.record())) {
    auto record = ML_TRY(read_record(paths));
    SandboxState state = effective_state(record);
    if (state == SandboxState::Running || state == SandboxState::Starting) {
      auto text = ML_TRY(util::read_file(t.config.file));
      bool changed = util::sha256_hex(text) != record.config_sha256 || record.file != t.config.file.string();
      if (!changed) return UpResult{record, false, ms_since(t0)};
      if (recreate == Recreate::No)
        return util::make_error(util::ErrorCode::Config,
                                "sandbox '" + t.name + "' runs an older Matchlockfile; changes:\n" +
                                    describe_change(paths, t.config) + "run `matchlock up --recreate` to apply them");
      util::log::info("recreating " + t.name + " (the Matchlockfile changed)");
      ML_TRY(stop_sandbox(dirs, t.name, KeepDisk::No, 30s));
    } else if (state == SandboxState::Stopping) {
      return util::make_error(util::ErrorCode::Guest, "sandbox '" + t.name + "' is stopping; try again");
    }
  }
  // Booting: the machine's policy.toml bounds the file (engine/machine_policy.hpp), then the
  // file's grants must be approved (a TTY question or --trust).
  Config bounded = t.config;
  ML_TRY(bound_by_machine_policy(dirs, bounded));
  ML_TRY(ensure_trusted(dirs, bounded, t.trust, STDIN_FILENO, stderr));
  ML_TRY(util::make_dirs(dirs.state / "sandboxes", 0700));
  ML_TRY(util::make_dirs(paths.dir, 0700));
  ::chmod(paths.dir.c_str(), 0700);
  util::Child child = ML_TRY(spawn_supervisor(paths, t));
  auto record = wait_ready(paths, child);
  if (!record) return std::move(record).error();
  child.detach();  // the supervisor lives on in its own session
  return UpResult{*record, true, ms_since(t0)};
}

util::Result<int> exec_in(const util::Dirs& dirs, const std::string& name, const ExecSpec& spec) {
  auto record = ML_TRY(sandbox_status(dirs, name));
  if (record.state != SandboxState::Running)
    return util::make_error(
        util::ErrorCode::Guest,
        "sandbox '" + name + "' is " + to_string(record.state) +
            (record.state == SandboxState::Dead ? "; run `matchlock down " + name + "`" : "; run `matchlock up`"));
  json req = {{"op", "exec"},    {"argv", spec.argv}, {"env", spec.env},
              {"cwd", spec.cwd}, {"user", spec.user}, {"tty", spec.tty}};
  if (spec.tty) {
    winsize ws{};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
      req["rows"] = ws.ws_row;
      req["cols"] = ws.ws_col;
    }
  }
  auto reply =
      ML_TRY(call_exec(sandbox_paths(dirs, name), req, {STDIN_FILENO, spec.stdout_fd, STDERR_FILENO}, spec.tty));
  return reply.value("exit_code", 125);
}

util::Result<void> stop_sandbox(const util::Dirs& dirs, const std::string& name, KeepDisk keep,
                                std::chrono::seconds timeout) {
  auto record = ML_TRY(sandbox_status(dirs, name));
  auto paths = sandbox_paths(dirs, name);
  if (supervisor_alive(record)) {
    auto r = call(paths, {{"op", "shutdown"}});
    if (!r) util::log::debug("shutdown request: " + r.error().message());
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (supervisor_alive(record) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
    if (supervisor_alive(record)) {
      util::log::warn("sandbox '" + name + "' did not stop within " + std::to_string(timeout.count()) +
                      " s; killing it");
      ::kill(record.pid, SIGKILL);  // QEMU dies with it (PR_SET_PDEATHSIG)
      while (process_start_time(record.pid) == record.pid_start && record.pid_start) std::this_thread::sleep_for(20ms);
    }
  }
  // A dead supervisor never wrote "stopped".
  auto now = ML_TRY(read_record(paths));
  if (now.state != SandboxState::Stopped) {
    now.state = SandboxState::Stopped;
    if (now.error.empty() && record.state == SandboxState::Dead) now.error = "the supervisor died";
    ML_TRY(write_record(paths, now));
  }
  std::error_code ec;
  fs::remove(paths.socket(), ec);
  if (keep == KeepDisk::No) fs::remove(paths.upper(), ec);
  return util::ok();
}

util::Result<void> remove_sandbox(const util::Dirs& dirs, const std::string& name) {
  auto record = ML_TRY(sandbox_status(dirs, name));
  if (is_live(record.state))
    return util::make_error(util::ErrorCode::Usage, "sandbox '" + name + "' is " + to_string(record.state) +
                                                        "; run `matchlock down " + name + "` first");
  std::error_code ec;
  fs::remove_all(sandbox_paths(dirs, name).dir, ec);
  if (ec) return util::sys_error_code(ec.value(), "remove", sandbox_paths(dirs, name).dir);
  return util::ok();
}

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

util::Result<int> run_chain(const util::Dirs& dirs, const SandboxTarget& t, const std::vector<std::string>& order,
                            const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
                            int stdout_fd, const SandboxRecord* layers) {
  for (size_t i = 0; i < order.size(); ++i) {
    const Task* task = t.config.find_task(order[i]);
    if (!task) return util::make_error(util::ErrorCode::NotFound, "no task '" + order[i] + "'");
    if (layers && contains(layers->cached_tasks, task->name)) {
      util::log::info("==> task " + task->name + " (cached layer)");
      continue;
    }
    ExecSpec spec;
    spec.argv = task->run;
    if (i + 1 == order.size() && !args.empty()) {
      // `sh -c SCRIPT` gets the task name as $0 so ARGS are $1...
      if (task->run_is_shell) spec.argv.push_back(task->name);
      spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    }
    for (const auto& [k, v] : task->env) spec.env.push_back(k + "=" + v);
    spec.env.insert(spec.env.end(), extra_env.begin(), extra_env.end());
    spec.cwd = task->workdir;
    spec.user = task->user;
    spec.tty = task->interactive && ::isatty(STDIN_FILENO);
    spec.stdout_fd = stdout_fd;
    util::log::info("==> task " + task->name);
    int code = ML_TRY_CTX(exec_in(dirs, t.name, spec), "task " + task->name);
    if (code != 0) {
      util::log::warn("task " + task->name + " failed with exit code " + std::to_string(code));
      return code;
    }
    if (layers && contains(layers->capture_tasks, task->name)) {
      auto reply = ML_TRY_CTX(call(sandbox_paths(dirs, t.name), {{"op", "checkpoint"}, {"task", task->name}}),
                              "task " + task->name);
      util::log::info("task " + task->name + ": cached layer saved (" +
                      std::to_string(reply.value("bytes", uint64_t{0}) >> 20) + " MiB in " +
                      std::to_string(reply.value("ms", int64_t{0})) + " ms)");
    }
  }
  return 0;
}

}  // namespace

util::Result<int> run_task_chain(const util::Dirs& dirs, const SandboxTarget& t, const std::vector<std::string>& order,
                                 const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
                                 int stdout_fd) {
  return run_chain(dirs, t, order, args, extra_env, stdout_fd, nullptr);
}

util::Result<int> run_up_tasks(const util::Dirs& dirs, const SandboxTarget& t, const std::vector<std::string>& order,
                               const SandboxRecord& record, int stdout_fd) {
  return run_chain(dirs, t, order, {}, {}, stdout_fd, &record);
}

util::Result<std::vector<std::string>> up_task_order(const Config& config) {
  std::vector<std::string> order;
  for (const auto& name : config.up) {
    for (auto& t : ML_TRY_CTX(task_order(config, name), "up")) {
      if (std::find(order.begin(), order.end(), t) == order.end()) order.push_back(t);
    }
  }
  return order;
}

}  // namespace engine
