#include "engine/supervisor.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "engine/config_parse.hpp"
#include "engine/exec_env.hpp"
#include "engine/exec_relay.hpp"
#include "engine/git_mounts.hpp"
#include "engine/guest_platform.hpp"
#include "engine/sandbox_spec.hpp"
#include "engine/snapshot.hpp"
#include "engine/snapshot_after_up.hpp"
#include "engine/kernel_ref.hpp"
#include "engine/machine_policy.hpp"
#include "engine/run_image.hpp"
#include "engine/sandbox_net.hpp"
#include "engine/sandbox_state.hpp"
#include "engine/sandbox_vm.hpp"
#include "engine/port_watch.hpp"
#include "engine/supervisor_ports.hpp"
#include "engine/supervisor_wire.hpp"
#include "engine/task_layers.hpp"
#include "engine/volumes.hpp"
#include "util/atomic_file.hpp"
#include "util/descriptors.hpp"
#include "util/signal_fd.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"

namespace engine {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr auto k_shutdown_timeout = 15s;

void log_line(const std::string& message) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::fprintf(stderr, "%s %s\n", stamp, message.c_str());
  std::fflush(stderr);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& a : v) s += (s.empty() ? "" : " ") + a;
  return s;
}

class Supervisor {
 public:
  Supervisor(Config config, GuestPlatform platform, BootableImage image, SandboxPaths paths, SandboxRecord record)
      : m_config(std::move(config)),
        m_platform(std::move(platform)),
        m_image(std::move(image)),
        m_paths(std::move(paths)),
        m_record(std::move(record)) {}
  ~Supervisor() {
    if (m_after_up.joinable()) m_after_up.join();
  }

  util::Result<void> boot(const util::Dirs& dirs) {
    std::vector<std::pair<uint16_t, uint16_t>> ports;
    for (const auto& p : m_config.ports) ports.emplace_back(p.host, p.guest);
    m_ports = ML_TRY(PortForwarder::bind(ports));
    SandboxSpec spec = ML_TRY(machine_spec(dirs, &m_config, m_platform));
    m_record.backend = to_string(spec.vmm);
    spec.image = m_image.ext4;
    spec.snapshot = m_config.sandbox.snapshot ? SnapshotUse::Auto : SnapshotUse::Off;
    spec.snapshot_origin = m_config.file.string();
    m_dirs = dirs;
    {
      // gc keeps the layers a sandbox record names; hold it off until ours does.
      oci::FileLock layers_lock = ML_TRY_CTX(lock_layers(dirs, oci::LockMode::Shared), "task layers");
      m_layers = ML_TRY_CTX(plan_sandbox_layers(dirs, m_config, m_image.ext4), "task layers");
      for (const auto& key : m_layers.attach) spec.layers.push_back(layer_disk_path(dirs, key));
      m_record.layers = m_layers.attach;
      m_record.cached_tasks = m_layers.skipped;
      for (const auto& [task, key] : m_layers.capture) m_record.capture_tasks.push_back(task);
      std::lock_guard lock(m_record_mutex);
      ML_TRY(write_record(m_paths, m_record));
    }
    if (!m_layers.attach.empty())
      log_line("task layer " + m_layers.attach.front() + " covers " + join(m_layers.skipped));
    m_net = ML_TRY(SandboxNet::start(dirs, m_config, m_record.name, nic_link_for(spec.vmm)));
    spec.network = m_net.get();
    m_volumes = ML_TRY(lease_volumes(dirs, m_config, m_record.name));  // engine/volumes.hpp
    spec.mounts = ML_TRY(plan_workspace_mounts(
        m_config,
        [this](const Mount& m) {                                   // engine/workspace_mounts.hpp
          return git_mount_source(m, m_paths.dir, m_record.name);  // git mode: serve the clone
        },
        [this](const Mount& m) { return leased_volume(m_volumes, m); }));
    spec.mount_owner = !m_config.sandbox.user.empty() ? m_config.sandbox.user : m_image.config.user;
    m_mounts = spec.mounts;  // snapshot ops (engine/snapshot.hpp)
    m_vm =
        std::make_unique<SandboxVm>(ML_TRY_CTX(SandboxVm::boot(dirs, spec, m_paths.dir), "boot " + m_image.reference));
    m_spec = spec;
    m_record.accel = m_vm->accel_name();
    m_record.ready_ms = m_vm->times().ready;
    m_record.snapshot = m_vm->snapshot().describe();
    log_line("ready in " + std::to_string(m_record.ready_ms) + " ms (accel " + m_record.accel + ", " +
             m_record.snapshot + "): " + m_vm->boot_info().uname);
    m_ports->start(m_vm->client());
    if (m_config.ports_auto)
      m_port_watch = std::make_unique<PortWatch>(m_vm->client(), *m_ports, [this](const std::string& line) {
        log_line(line);
        std::lock_guard lock(m_record_mutex);
        m_record.ports = m_ports->list();
        (void)write_record(m_paths, m_record);
      });
    return util::ok();
  }

  util::Result<void> set_state(SandboxState state, const std::string& error = {}) {
    std::lock_guard lock(m_record_mutex);
    m_record.state = state;
    if (!error.empty()) m_record.error = error;
    return write_record(m_paths, m_record);
  }

  // Serves until stopped; returns after the VM is down.
  util::Result<void> serve(util::Fd listener, int signal_fd) {
    while (!m_stop) {
      pollfd fds[2] = {{listener.get(), POLLIN, 0}, {signal_fd, POLLIN, 0}};
      int n = ::poll(fds, 2, 500);
      if (n < 0 && errno != EINTR) return util::sys_error("poll");
      if (n > 0 && fds[1].revents) {
        log_line("signal received, stopping");
        break;
      }
      if (n > 0 && (fds[0].revents & POLLIN)) {
        util::Fd conn(util::accept_cloexec(listener.get()));
        if (conn) {
          ++m_active;
          std::thread([this, c = std::move(conn)]() mutable {
            handle(std::move(c));
            --m_active;
            m_cv.notify_all();
          }).detach();
        }
      }
      if (!m_vm->client().connected()) {
        log_line("guest agent disconnected; stopping");
        m_guest_gone = true;
        break;
      }
      // The VMM's own word (QEMU exited; VZ's delegate: guest stopped, stopped with an error,
      // network attachment disconnected), even while the channel still looks open.
      if (std::string why = m_vm->vmm_ended(); !why.empty()) {
        log_line("VM ended (" + why + "); stopping");
        m_guest_gone = true;
        break;
      }
    }
    ::unlink(m_paths.socket().c_str());
    ML_TRY(set_state(SandboxState::Stopping));
    stop_vm();
    return util::ok();
  }

  bool guest_gone() const { return m_guest_gone; }
  util::Fd take_shutdown_conn() {
    std::lock_guard lock(m_record_mutex);
    return std::move(m_shutdown_conn);
  }

 private:
  void stop_vm() {
    std::thread after_up;
    {
      std::lock_guard lock(m_capture_mutex);  // no capture (nor a thread it starts) from here on
      m_stopping = true;
      after_up = std::move(m_after_up);
    }
    if (after_up.joinable()) {
      log_line("waiting for the memory snapshot after the up tasks");
      after_up.join();
    }
    m_port_watch.reset();  // no more guest reads or new forwards
    if (m_vm->client().connected()) {
      if (auto r = m_vm->client().shutdown(k_shutdown_timeout); !r) log_line("guest shutdown: " + r.error().message());
    }
    // Wait for the exec handlers to return (their processes died with the guest).
    std::unique_lock lock(m_wait_mutex);
    m_cv.wait_for(lock, 5s, [this] { return m_active.load() == 0; });
    lock.unlock();
    {
      std::lock_guard ports_lock(m_ports_mutex);
      m_ports.reset();
    }
    if (auto r = m_vm->shutdown(k_shutdown_timeout); !r) log_line("shutdown: " + r.error().message());
    log_line("stopped");
  }

  void reply(int fd, const json& j) { (void)send_message(fd, j.dump()); }

  void handle(util::Fd conn) {
    auto msg = recv_message(conn.get());
    if (!msg) return;
    json req;
    try {
      req = json::parse(msg->line);
    } catch (const json::exception& e) {
      reply(conn.get(), {{"ok", false}, {"error", std::string("bad request: ") + e.what()}});
      return;
    }
    std::string op = req.value("op", "");
    if (op == "status") {
      std::lock_guard lock(m_record_mutex);
      reply(conn.get(), {{"ok", true}, {"record", json::parse(record_to_json(m_record))}});
    } else if (op == "exec") {
      handle_exec(conn.get(), req, msg->fds);
    } else if (op == "checkpoint") {
      handle_checkpoint(conn.get(), req);
    } else if (op == "port") {
      handle_port(conn.get(), req);
    } else if (op == "diff" || op == "export") {
      handle_snapshot(conn.get(), op, req);
    } else if (op == "shutdown") {
      log_line("shutdown requested");
      std::lock_guard lock(m_record_mutex);
      m_shutdown_requested = true;
      m_shutdown_conn = std::move(conn);
      m_stop = true;
    } else {
      reply(conn.get(), {{"ok", false}, {"error", "unknown op '" + op + "'"}});
    }
  }

  // {"op":"port"[,"add":{"guest":G,"host":H}|"remove":{"guest":G,"host":H}]} -> {"ports":[...]}
  // (engine/supervisor_ports.hpp; HOST 0: any free port when adding, any port when removing).
  void handle_port(int conn, const json& req) {
    auto r = [&]() -> util::Result<json> {
      std::lock_guard lock(m_ports_mutex);
      if (!m_ports) return util::make_error(util::ErrorCode::Guest, "sandbox '" + m_record.name + "' is stopping");
      json out = {{"ok", true}};
      try {
        if (req.contains("add")) {
          auto f = ML_TRY(m_ports->add(req["add"].value("host", uint16_t{0}), req["add"].value("guest", uint16_t{0}),
                                       PortOrigin::Cli));
          log_line("port 127.0.0.1:" + std::to_string(f.host) + " -> guest " + std::to_string(f.guest) +
                   " (matchlock port)");
          out["added"] = {{"host", f.host}, {"guest", f.guest}};
        } else if (req.contains("remove")) {
          auto gone = ML_TRY(
              m_ports->remove(req["remove"].value("guest", uint16_t{0}), req["remove"].value("host", uint16_t{0})));
          out["removed"] = json::array();
          for (const auto& f : gone) {
            log_line("port 127.0.0.1:" + std::to_string(f.host) + " -> guest " + std::to_string(f.guest) + " removed");
            out["removed"].push_back({{"host", f.host}, {"guest", f.guest}});
          }
        }
      } catch (const json::exception& e) {
        return util::make_error(util::ErrorCode::Usage, std::string("bad port request: ") + e.what());
      }
      std::lock_guard record_lock(m_record_mutex);
      m_record.ports = m_ports->list();
      ML_TRY(write_record(m_paths, m_record));
      out["ports"] = json::array();
      for (const auto& f : m_record.ports)
        out["ports"].push_back({{"host", f.host}, {"guest", f.guest}, {"origin", to_string(f.origin)}});
      return out;
    }();
    if (!r) {
      reply(conn, {{"ok", false}, {"error", r.error().message()}});
      return;
    }
    reply(conn, *r);
  }

  // {"op":"diff"} -> {"mounts":[...]}; {"op":"export","to":DIR | "patch":FILE[,"mount":TARGET]}
  // (engine/snapshot.hpp, docs/protocol.md).
  void handle_snapshot(int conn, const std::string& op, const json& req) {
    auto r = [&]() -> util::Result<json> {
      auto diffs = ML_TRY(snapshot_diffs(m_vm->client(), m_mounts));
      if (diffs.empty())
        return util::make_error(util::ErrorCode::NotFound, "sandbox '" + m_record.name + "' has no snapshot mount");
      if (op == "diff") {
        json mounts = json::array();
        for (const auto& d : diffs) mounts.push_back(snapshot_diff_to_json(d));
        return json{{"ok", true}, {"mounts", std::move(mounts)}};
      }
      std::string target = req.value("mount", "");
      const SnapshotDiff* pick = nullptr;
      for (const auto& d : diffs)
        if (target.empty() ? diffs.size() == 1 : d.target == target) pick = &d;
      if (!pick)
        return util::make_error(util::ErrorCode::Config, target.empty()
                                                             ? "several snapshot mounts: choose one with --mount TARGET"
                                                             : "no snapshot mount at " + target);
      std::string to = req.value("to", ""), patch = req.value("patch", "");
      if (!to.empty()) ML_TRY(export_snapshot(m_vm->client(), *pick, to));
      if (!patch.empty()) ML_TRY(write_snapshot_patch(m_vm->client(), *pick, patch));
      log_line("export " + pick->target + ": " + std::to_string(pick->changes.size()) + " changes");
      return json{{"ok", true}, {"mounts", json::array({snapshot_diff_to_json(*pick)})}};
    }();
    if (!r) {
      reply(conn, {{"ok", false}, {"error", r.error().message()}});
      return;
    }
    reply(conn, *r);
  }

  // {"op":"checkpoint","task":T}: capture the writable disk as T's cached layer (engine/task_layers.hpp).
  void handle_checkpoint(int conn, const json& req) {
    std::string task = req.value("task", "");
    auto it =
        std::find_if(m_layers.capture.begin(), m_layers.capture.end(), [&](const auto& c) { return c.first == task; });
    if (it == m_layers.capture.end()) {
      reply(conn, {{"ok", false}, {"error", "task '" + task + "' has no layer to capture in this sandbox"}});
      return;
    }
    std::lock_guard lock(m_capture_mutex);
    if (m_stopping) {
      reply(conn, {{"ok", false}, {"error", "the sandbox is stopping"}});
      return;
    }
    auto t0 = std::chrono::steady_clock::now();
    auto layer = capture_task_layer(m_dirs, m_vm->client(), m_paths.upper(),
                                    {it->second, task, m_config.file.string(), m_layers.attach});
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (!layer) {
      log_line("task " + task + ": " + layer.error().message());
      reply(conn, {{"ok", false}, {"error", layer.error().message()}});
      return;
    }
    log_line("task " + task + ": layer " + layer->key + " (" + std::to_string(layer->bytes >> 10) + " KiB) in " +
             std::to_string(ms) + " ms");
    reply(conn, {{"ok", true}, {"key", layer->key}, {"bytes", layer->bytes}, {"ms", ms}});
    // `up` captures in order; save_after_up checks that every layer of the prefix exists.
    if (task == m_layers.capture.back().first) start_after_up_snapshot();
  }

  // The last layer of the prefix is captured: save the memory snapshot the next boot of this
  // Matchlockfile resumes (engine/snapshot_after_up.hpp), in the background. Called under
  // m_capture_mutex.
  void start_after_up_snapshot() {
    // An empty key: snapshots are off or impossible for this sandbox (the boot said why).
    if (m_vm->snapshot().key.empty() || m_after_up.joinable()) return;
    m_after_up = std::thread([this] {
      auto saved = save_after_up();
      log_line(
          "memory snapshot after the up tasks: " +
          (saved ? saved->outcome.describe() + " in " + std::to_string(saved->ms) + " ms" : saved.error().message()));
    });
  }

  util::Result<AfterUpSnapshot> save_after_up() {
    // Shared: gc keeps the layers while the VM may still open them.
    oci::FileLock layers_lock = ML_TRY(lock_layers(m_dirs, oci::LockMode::Shared));
    // The plan the next boot of this Matchlockfile makes.
    LayerPlan plan = ML_TRY(plan_sandbox_layers(m_dirs, m_config, m_image.ext4));
    if (!plan.capture.empty())
      return util::make_error(util::ErrorCode::NotFound,
                              "not saved: no usable layer of task " + plan.capture.front().first);
    std::vector<fs::path> layers;
    for (const auto& key : plan.attach) layers.push_back(layer_disk_path(m_dirs, key));
    return save_after_up_snapshot(m_dirs, m_spec, std::move(layers), m_paths.dir);
  }

  void handle_exec(int conn, const json& req, const std::vector<util::Fd>& fds) {
    protocol::ExecRequest r;
    try {
      r.argv = req.at("argv").get<std::vector<std::string>>();
      // image < network < [sandbox.env] < the request's env (task env, then -e).
      r.env = m_image.config.env;
      for (const auto& e : m_net->exec_env()) set_env(r.env, e);  // CA variables, secret placeholders
      for (const auto& [k, v] : m_config.sandbox.env) set_env(r.env, k + "=" + v);
      for (const auto& e : req.value("env", std::vector<std::string>{})) set_env(r.env, e);
      r.cwd = req.value("cwd", "");
      if (r.cwd.empty())
        r.cwd = !m_config.sandbox.workdir.empty() ? m_config.sandbox.workdir : m_image.config.working_dir;
      r.user = req.value("user", "");
      if (r.user.empty()) r.user = !m_config.sandbox.user.empty() ? m_config.sandbox.user : m_image.config.user;
      r.tty = req.value("tty", false);
      r.rows = req.value("rows", uint16_t{24});
      r.cols = req.value("cols", uint16_t{80});
    } catch (const json::exception& e) {
      reply(conn, {{"ok", false}, {"error", std::string("bad exec request: ") + e.what()}});
      return;
    }
    if (r.argv.empty()) {
      reply(conn, {{"ok", false}, {"error", "exec: empty command"}});
      return;
    }
    protocol::ExecIo io;
    io.stdin_fd = fds.size() > 0 ? fds[0].get() : -1;
    io.stdout_fd = fds.size() > 1 ? fds[1].get() : -1;
    io.stderr_fd = fds.size() > 2 ? fds[2].get() : -1;
    // Signals and resizes the CLI sends on this connection meanwhile (engine/exec_relay.hpp).
    std::unique_ptr<ExecSignalRelay> relay;
    if (auto started = ExecSignalRelay::start(conn)) {
      relay = std::move(*started);
      io.signal_fd = relay->signal_fd();
      if (r.tty) io.winsize_fd = io.stdin_fd;  // the CLI's terminal: TIOCGWINSZ gives its new size
    }
    log_line("exec " + join(r.argv));
    auto result = m_vm->client().exec(r, io);
    relay.reset();
    if (!result) {
      log_line("exec " + r.argv[0] + ": " + result.error().message());
      reply(conn, {{"ok", false}, {"error", result.error().message()}});
      return;
    }
    log_line("exec " + r.argv[0] + " exited " + std::to_string(result->exit_code));
    reply(conn, {{"ok", true}, {"exit_code", result->exit_code}, {"signal", result->signal}});
  }

  Config m_config;
  GuestPlatform m_platform;
  BootableImage m_image;
  SandboxPaths m_paths;
  std::mutex m_record_mutex;
  SandboxRecord m_record;
  std::mutex m_ports_mutex;  // `port` requests against the stop
  std::unique_ptr<PortForwarder> m_ports;
  std::unique_ptr<PortWatch> m_port_watch;  // ports = "auto"; stopped before m_ports goes
  util::Dirs m_dirs;
  std::vector<WorkspaceMount> m_mounts;  // as booted (snapshot ops)
  std::vector<VolumeLease> m_volumes;    // held while the VM may use them (declared before m_vm: outlives it)
  LayerPlan m_layers;                    // cached task layers (engine/task_layers.hpp)
  std::mutex m_capture_mutex;            // one capture at a time; guards the two below
  std::thread m_after_up;                // start_after_up_snapshot; joined by stop_vm
  bool m_stopping = false;               // stop_vm began: no more captures
  SandboxSpec m_spec;                    // as booted (network and mounts borrowed from the members here)
  std::unique_ptr<SandboxNet> m_net;     // declared before m_vm: outlives the VM
  std::unique_ptr<SandboxVm> m_vm;
  std::atomic<bool> m_stop{false};
  std::atomic<int> m_active{0};
  bool m_shutdown_requested = false;
  bool m_guest_gone = false;
  util::Fd m_shutdown_conn;
  std::mutex m_wait_mutex;
  std::condition_variable m_cv;
};

util::Result<util::SignalFd> block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return util::sys_error("sigprocmask");
  return util::SignalFd::create(set);
}

}  // namespace

util::Result<int> run_supervisor(const util::Dirs& dirs, const SuperviseOptions& o) {
  ::signal(SIGPIPE, SIG_IGN);  // a client that went away must not kill the sandbox
  auto signal_fd = ML_TRY(block_stop_signals());
  SandboxPaths paths = sandbox_paths(dirs, o.name);
  SandboxRecord record;
  record.name = o.name;
  record.state = SandboxState::Starting;
  record.pid = ::getpid();
  record.pid_start = process_start_time(record.pid);
  record.started_unix = std::time(nullptr);
  record.file = o.file;
  auto fail = [&](util::Error e) -> util::Result<int> {
    record.state = SandboxState::Stopped;
    record.error = e.message();
    record.error_kind = error_kind(e.code());
    (void)write_record(paths, record);
    log_line("error: " + e.message());
    return e;
  };
  ML_TRY(write_record(paths, record));
  log_line("supervisor " + std::to_string(record.pid) + " for sandbox " + o.name + " (" + o.file + ")");

  auto text = util::read_file(o.file);
  if (!text) return fail(text.error());
  record.config_sha256 = util::sha256_hex(*text);
  if (auto r = util::write_file_atomic(paths.booted_file(), *text, 0600); !r) return fail(r.error());
  auto config = load_config(o.file);
  if (!config) return fail(config.error());
  // The machine's policy.toml: checked again here (it may have changed since `up` checked it),
  // and its deny/allow rules become part of the sandbox's network policy.
  if (auto bounded = bound_by_machine_policy(dirs, *config); !bounded) return fail(bounded.error());
  if (config->sandbox.kernel.kind == KernelKind::Reference) {
    auto kernel = kernel_from_reference(dirs, config->sandbox.kernel.reference);
    if (!kernel) return fail(kernel.error());
    config->sandbox.kernel.kind = KernelKind::Path;  // the supervisor boots the pulled bundle
    config->sandbox.kernel.path = kernel->dir;
  }
  auto platform = guest_platform("", &*config);
  if (!platform) return fail(platform.error());
  auto image = prepare_image(dirs, config->sandbox.image, platform->platform, nullptr);
  if (!image) return fail(image.error());
  record.image = image->reference;
  record.platform = platform->platform.to_string();
  record.image_digest = image->manifest_digest;
  record.cpus = config->sandbox.cpus;
  record.memory_bytes = config->sandbox.memory_bytes;
  for (const auto& p : config->ports) record.ports.push_back({p.host, p.guest});
  for (const auto& r : config->allowed_rules()) record.allowed_hosts.push_back(r.to_string());
  for (const auto& m : config->mounts) record.mounts.push_back(mount_source_label(m) + " -> " + m.target);

  if (o.no_snapshot) config->sandbox.snapshot = false;
  Supervisor sup(std::move(*config), std::move(*platform), std::move(*image), paths, record);
  if (auto r = sup.boot(dirs); !r) return fail(r.error());
  auto listener = listen_unix(paths.socket());
  if (!listener) return fail(listener.error());
  ML_TRY(sup.set_state(SandboxState::Running));
  auto served = sup.serve(std::move(*listener), signal_fd.fd());
  ML_TRY(sup.set_state(SandboxState::Stopped, sup.guest_gone() ? "the guest exited" : ""));
  if (util::Fd conn = sup.take_shutdown_conn()) (void)send_message(conn.get(), json{{"ok", true}}.dump());
  if (!served) return served.error();
  return 0;
}

}  // namespace engine
