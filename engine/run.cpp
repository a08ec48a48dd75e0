#include "engine/run.hpp"

#include "engine/net_setup.hpp"

#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "engine/config_parse.hpp"
#include "engine/discover.hpp"
#include "engine/exec_env.hpp"
#include "engine/git_mounts.hpp"
#include "engine/guest_platform.hpp"
#include "engine/kernel_ref.hpp"
#include "engine/machine_policy.hpp"
#include "engine/run_image.hpp"
#include "engine/run_tty.hpp"
#include "engine/sandbox_net.hpp"
#include "engine/sandbox_spec.hpp"
#include "engine/sandbox_vm.hpp"
#include "engine/volumes.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/temp_dir.hpp"

namespace engine {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto k_shutdown_timeout = 10s;

// The Matchlockfile, or nothing when --image is given and none is found.
util::Result<std::optional<Config>> load_run_config(const RunOptions& o) {
  std::error_code ec;
  auto path = discover_matchlockfile(o.file, fs::current_path(ec));
  if (!path) {
    if (!o.image.empty() && o.file.empty()) return std::optional<Config>{};  // --image needs no Matchlockfile
    return std::move(path).error();
  }
  return std::optional<Config>(ML_TRY(load_config(*path)));
}

util::Result<protocol::ExecRequest> plan_exec(const RunOptions& o, const std::optional<Config>& config,
                                              const oci::ImageConfig& image, const SandboxNet* network) {
  protocol::ExecRequest req;
  // Docker's rule: Entrypoint + (the given command, else Cmd).
  req.argv = image.entrypoint;
  const auto& args = o.command.empty() ? image.cmd : o.command;
  req.argv.insert(req.argv.end(), args.begin(), args.end());
  if (req.argv.empty())
    return util::make_error(util::ErrorCode::Usage, "no command given and the image has no Entrypoint or Cmd");
  req.env = image.env;
  // image < network (CA variables, secret placeholders) < [sandbox.env] < -e
  if (network)
    for (const auto& e : network->exec_env()) set_env(req.env, e);
  if (config)
    for (const auto& [k, v] : config->sandbox.env) set_env(req.env, k + "=" + v);
  for (const auto& e : ML_TRY(resolve_env_flags(o.env))) set_env(req.env, e);
  req.cwd = !o.workdir.empty()                           ? o.workdir
            : config && !config->sandbox.workdir.empty() ? config->sandbox.workdir
                                                         : image.working_dir;
  req.user = !o.user.empty() ? o.user : config && !config->sandbox.user.empty() ? config->sandbox.user : image.user;
  req.tty = o.tty == Tty::Yes;
  return req;
}

}  // namespace

util::Result<int> run_in_sandbox(const util::Dirs& dirs, const RunOptions& o) {
  auto config = ML_TRY(load_run_config(o));
  // The machine's policy.toml bounds the file, and the file's grants are approved, before
  // anything is pulled or booted (--image alone has no policy).
  if (config) {
    ML_TRY(refuse_cluster_secrets(*config));
    ML_TRY(bound_by_machine_policy(dirs, *config));
    ML_TRY(ensure_trusted(dirs, *config, o.trust, STDIN_FILENO, stderr));
  }
  oci::Reference ref;
  if (!o.image.empty()) {
    ref = ML_TRY_CTX(oci::parse_reference(o.image), "--image");
  } else {
    ref = config->sandbox.image;
  }

  GuestPlatform platform = ML_TRY(guest_platform(o.platform, config ? &*config : nullptr));
  SandboxSpec spec = ML_TRY(machine_spec(dirs, config ? &*config : nullptr, platform));
  spec.snapshot = o.no_snapshot || (config && !config->sandbox.snapshot) ? SnapshotUse::Off : SnapshotUse::Auto;
  spec.snapshot_origin = config ? config->file.string() : ref.to_string();

  // Signals are blocked before any thread starts; they are forwarded to the guest process.
  auto signals = ML_TRY(ForwardedSignals::block());

  std::unique_ptr<oci::ProgressSink> progress;
  if (util::log::level() != util::log::Level::Quiet) progress = oci::make_progress(oci::ProgressStyle::Auto, stderr);
  auto image = ML_TRY(prepare_image(dirs, ref, platform.platform, progress.get(), o.pull));
  if (!o.frozen_manifest.empty() && image.manifest_digest != o.frozen_manifest)
    return util::make_error(util::ErrorCode::Frozen, image.reference + " resolves to " + image.manifest_digest +
                                                         " but the lock pins " + o.frozen_manifest +
                                                         "; run `matchlock pull --frozen` (or `matchlock lock`)");
  spec.image = image.ext4;
  // A Matchlockfile's sandbox gets the NIC and its policy; --image alone gets no network.
  std::unique_ptr<SandboxNet> network;
  if (config) {
    network = ML_TRY(SandboxNet::start(dirs, *config, config->name, nic_link_for(spec.vmm)));
    spec.network = network.get();
  }
  auto request = ML_TRY(plan_exec(o, config, image.config, network.get()));

  fs::path sandboxes = dirs.state / "sandboxes";
  ML_TRY(util::make_dirs(sandboxes, 0700));
  util::TempDir state = ML_TRY(util::TempDir::create(sandboxes, "run-"));
  const fs::path state_dir = state.path();
  // Without --rm the state dir (console log, disk) stays, also on errors that name its files.
  if (o.remove == Remove::No) util::log::debug("sandbox state in " + state.release().string());
  std::vector<VolumeLease> volumes;  // engine/volumes.hpp: held until the VM is gone (declared before it)
  if (config) {                      // [[mounts]]: FUSE shares served from this process (engine/workspace_mounts.hpp)
    volumes = ML_TRY(lease_volumes(dirs, *config, config->name));
    spec.mounts = ML_TRY(plan_workspace_mounts(
        *config, [&](const Mount& m) { return git_mount_source(m, state_dir, config->name); },
        [&](const Mount& m) { return leased_volume(volumes, m); }));
    spec.mount_owner = request.user;
  }
  auto sandbox = ML_TRY_CTX(SandboxVm::boot(dirs, spec, state_dir), "boot " + image.reference);
  const auto& t = sandbox.times();
  util::log::debug("sandbox ready in " + std::to_string(t.ready) + " ms (qemu " + std::to_string(t.vmm_started) +
                   " ms, agent hello " + std::to_string(t.connected) + " ms, accel " + sandbox.accel_name() +
                   "): " + sandbox.boot_info().uname);
  if (int sig = signals.take_pending_stop()) return 128 + sig;

  protocol::ExecIo io;
  io.stdin_fd = STDIN_FILENO;
  io.stdout_fd = STDOUT_FILENO;
  io.stderr_fd = STDERR_FILENO;
  io.signal_fd = signals.fd();
  std::optional<RawTerminal> raw;
  if (request.tty) {
    int term = ::isatty(STDIN_FILENO) ? STDIN_FILENO : ::isatty(STDOUT_FILENO) ? STDOUT_FILENO : -1;
    if (term < 0) util::log::warn("-t: neither stdin nor stdout is a terminal");
    if (auto ws = term >= 0 ? window_size(term) : std::nullopt) {
      request.rows = ws->rows;
      request.cols = ws->cols;
    }
    io.winsize_fd = term;
    raw.emplace(ML_TRY(RawTerminal::enter(STDIN_FILENO)));
  }
  auto result = sandbox.exec(request, io);
  raw.reset();
  if (!result) return std::move(result).error();
  if (auto r = sandbox.shutdown(k_shutdown_timeout); !r) util::log::warn("shutdown: " + r.error().message());
  // Git mode: the sandbox's branches come back as matchlock/<name>/<branch> (docs/workspace-git.md).
  if (config) {
    auto fetched = fetch_git_mounts(state_dir, config->name);
    if (!fetched) return std::move(fetched).error().context("fetch-branch");
    for (const auto& line : describe_fetch(*fetched)) util::log::info(line);
  }
  return result->exit_code;
}

}  // namespace engine
