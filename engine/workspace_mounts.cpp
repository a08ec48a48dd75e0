#include "engine/workspace_mounts.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "engine/env_overrides.hpp"
#include "util/fd.hpp"
#include "util/log.hpp"
#include "workspace/fuse_wire.hpp"
#include "util/descriptors.hpp"

namespace engine {

namespace fs = std::filesystem;

namespace {

bool inside(const std::string& outer, const std::string& inner) {
  return outer == "/" || inner == outer || inner.rfind(outer + "/", 0) == 0;
}

std::optional<uint32_t> parse_id(const std::string& s) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  unsigned long v = std::strtoul(s.c_str(), nullptr, 10);
  if (v > 0xffffffffUL) return std::nullopt;
  return static_cast<uint32_t>(v);
}

// "uid" / "uid:gid" numerically, "" or "root" as 0:0, else `id` in the guest.
util::Result<std::pair<uint32_t, uint32_t>> resolve_owner(protocol::Client& client, const std::string& owner) {
  if (owner.empty() || owner == "root" || owner == "0") return std::make_pair(0u, 0u);
  std::string user = owner, group;
  if (auto colon = owner.find(':'); colon != std::string::npos) {
    user = owner.substr(0, colon);
    group = owner.substr(colon + 1);
  }
  auto uid = parse_id(user);
  auto gid = parse_id(group);
  if (uid && (group.empty() || gid)) return std::make_pair(*uid, gid ? *gid : *uid);
  // Names: ask the guest's own tools (its /etc/passwd and /etc/group).
  int fds[2];
  if (util::pipe_cloexec(fds) < 0) return util::sys_error("pipe");
  util::Fd rd(fds[0]), wr(fds[1]);
  protocol::ExecRequest req;
  std::string script =
      group.empty() ? "id -u \"$1\" && id -g \"$1\"" : "id -u \"$1\" && grep \"^$2:\" /etc/group | cut -d: -f3";
  req.argv = {"/bin/sh", "-c", script, "sh", user, group};
  protocol::ExecIo io;
  io.stdout_fd = wr.get();
  auto r = client.exec(req, io);
  wr.reset();
  auto out = ML_TRY(util::read_all(rd.get()));
  if (!r) return std::move(r).error().context("resolve sandbox user " + owner);
  std::vector<std::string> lines;
  size_t p = 0;
  while (p < out.size()) {
    size_t nl = out.find('\n', p);
    lines.push_back(out.substr(p, nl == std::string::npos ? std::string::npos : nl - p));
    if (nl == std::string::npos) break;
    p = nl + 1;
  }
  std::optional<uint32_t> u = lines.size() > 0 ? parse_id(lines[0]) : std::nullopt;
  std::optional<uint32_t> g = lines.size() > 1 ? parse_id(lines[1]) : std::nullopt;
  if (r->exit_code != 0 || !u || !g)
    return util::make_error(util::ErrorCode::Guest,
                            "sandbox user " + owner + " not found in the guest (workspace owner)");
  return std::make_pair(*u, *g);
}

}  // namespace

util::Result<std::vector<WorkspaceMount>> plan_workspace_mounts(const Config& config, const GitSourceFn& git_source,
                                                                const VolumeSourceFn& volume_source) {
  std::vector<WorkspaceMount> out;
  std::vector<fs::path> protect;
  if (!config.file.empty()) {
    protect.push_back(config.file);
    protect.push_back(config.file.parent_path() / (config.file.filename().string() + ".lock"));
    protect.push_back(config.file.parent_path() / "Matchlockfile.lock");
  }
  for (size_t i = 0; i < config.mounts.size(); ++i) {
    const Mount& m = config.mounts[i];
    std::string where = config.where("mounts[" + std::to_string(i) + "]");
    WorkspaceMount w;
    w.mode = m.mode;
    w.target = m.target;
    w.exclude = m.exclude;
    w.cache = m.cache == MountCache::None ? workspace::CachePolicy::None : workspace::CachePolicy::Auto;
    w.read_only_files = protect;
    if (!m.volume.empty()) {
      if (!volume_source)
        return util::make_error(util::ErrorCode::Unsupported, where + ": volumes are not available here");
      w.source = ML_TRY_CTX(volume_source(m), where);
      w.read_only_files.clear();
      if (m.mode == MountMode::Ro) w.access = workspace::Access::ReadOnly;
      out.push_back(std::move(w));
      continue;
    }
    switch (m.mode) {
      case MountMode::Rw:
        w.source = m.source;
        break;
      case MountMode::Ro:
        w.source = m.source;
        w.access = workspace::Access::ReadOnly;
        break;
      case MountMode::Git:
        if (!git_source)
          return util::make_error(util::ErrorCode::Unsupported, where + ": mode = \"git\" is not available here");
        w.source = ML_TRY_CTX(git_source(m), where);
        break;
      case MountMode::Snapshot:  // the guest overlays the read-only share (docs/workspace.md)
        w.source = m.source;
        w.access = workspace::Access::ReadOnly;
        break;
    }
    std::error_code ec;
    if (!fs::is_directory(w.source, ec))
      return util::make_error(util::ErrorCode::NotFound,
                              where + ": source " + w.source.string() + " is not a directory");
    if (w.target == "/")
      return util::make_error(util::ErrorCode::Config, where + ": a mount cannot replace the guest's /");
    out.push_back(std::move(w));
  }
  // A mount inside another one is mounted after it (fewer components first;
  // targets are normalised and unique, so a parent always has fewer).
  auto depth = [](const std::string& t) { return std::count(t.begin(), t.end(), '/'); };
  std::stable_sort(out.begin(), out.end(),
                   [&](const WorkspaceMount& a, const WorkspaceMount& b) { return depth(a.target) < depth(b.target); });
  return out;
}

std::optional<std::pair<std::string, std::string>> nested_mount(const std::vector<WorkspaceMount>& mounts) {
  for (const auto& inner : mounts)
    for (const auto& outer : mounts)
      if (&inner != &outer && inside(outer.target, inner.target)) return std::make_pair(inner.target, outer.target);
  return std::nullopt;
}

WorkspaceMount rw_mount(const fs::path& dir, const std::string& target) {
  WorkspaceMount w;
  w.source = dir;
  w.target = target;
  return w;
}

util::Result<ShareTransport> choose_transport(const backends::KernelBundle& kernel) {
  const std::string& want = ML_TRY(env_overrides()).workspace_transport;  // validated: "", virtiofs, channel
  bool has = kernel.has_module("virtiofs");
  if (want == "channel") return ShareTransport::Channel;
  if (want == "virtiofs") {
    if (!has)
      return util::make_error(util::ErrorCode::Unsupported,
                              "MATCHLOCK_WORKSPACE_TRANSPORT=virtiofs, but the guest kernel " + kernel.dir.string() +
                                  " has no virtiofs module");
    return ShareTransport::Virtiofs;
  }
  return has ? ShareTransport::Virtiofs : ShareTransport::Channel;
}

const char* to_string(ShareTransport transport) {
  return transport == ShareTransport::Virtiofs ? "virtiofs" : "channel";
}

std::string virtiofs_tag(size_t id) { return "ml-mount" + std::to_string(id); }

std::vector<protocol::MountSpec> boot_mounts(const std::vector<WorkspaceMount>& mounts, ShareTransport transport) {
  std::vector<protocol::MountSpec> out;
  for (size_t i = 0; i < mounts.size(); ++i) {
    protocol::MountSpec s;
    s.id = static_cast<uint32_t>(i);
    if (transport == ShareTransport::Virtiofs) s.tag = virtiofs_tag(i);
    s.target = mounts[i].target;
    s.mode = mounts[i].mode == MountMode::Snapshot             ? "snapshot"
             : mounts[i].access == workspace::Access::ReadOnly ? "ro"
                                                               : "rw";
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

// Reads until one whole request is handled (INIT, when called first).
util::Result<bool> serve_some(protocol::Stream& stream, workspace::FileServer& server,
                              workspace::MessageSplitter& split, bool until_one) {
  for (;;) {
    auto chunk = ML_TRY(stream.read());
    if (!chunk) return false;  // the guest side ended
    ML_TRY(split.feed(*chunk, sizeof(fuse_in_header)));
    bool handled = false;
    while (auto msg = split.pop()) {
      std::string reply = server.handle(*msg);
      if (!reply.empty()) ML_TRY(stream.write(reply));
      handled = true;
    }
    if (until_one && handled) return true;
  }
}

}  // namespace

util::Result<void> serve_fuse_stream(protocol::Stream& stream, workspace::FileServer& server) {
  workspace::MessageSplitter split;
  ML_TRY(serve_some(stream, server, split, false));
  return util::ok();
}

WorkspaceMounts::~WorkspaceMounts() {
  for (auto& t : m_threads)
    if (t.joinable()) t.join();
  for (auto& d : m_devices) {
    auto s = d->stats();
    util::log::debug(d->name() + ": served " + std::to_string(s.requests) + " virtio-fs requests (" +
                     std::to_string(s.malformed) + " malformed, " + std::to_string(s.kicks) + " kicks)");
  }
}

util::Result<std::vector<backends::qemu::VhostUserFs>> WorkspaceMounts::prepare(
    const std::vector<WorkspaceMount>& mounts) {
  std::vector<backends::qemu::VhostUserFs> out;
  for (size_t i = 0; i < mounts.size(); ++i) {
    std::string what = "mount " + mounts[i].source.string() + " at " + mounts[i].target;
    // virtio-fs queues: 0 = hiprio (FORGET, INTERRUPT), 1 = requests.
    m_devices.push_back(ML_TRY_CTX(backends::vhost::VhostUserDevice::create(what, 2), what));
    out.push_back({m_devices.back()->frontend_fd(), virtiofs_tag(i)});
  }
  return out;
}

void WorkspaceMounts::vm_started() {
  for (auto& d : m_devices) d->release_frontend();
}

util::Result<void> WorkspaceMounts::serve_channel(protocol::Client& client, size_t id,
                                                  std::unique_ptr<workspace::FileServer> server,
                                                  const std::string& what) {
  auto stream = ML_TRY_CTX(client.open_stream("fuse", static_cast<int>(id)), what);
  auto split = std::make_unique<workspace::MessageSplitter>();
  bool up = ML_TRY_CTX(serve_some(stream, *server, *split, true), what);
  if (!up || !server->initialized())
    return util::make_error(util::ErrorCode::Guest, what + ": the guest did not complete the FUSE handshake");
  util::log::debug(what + ": mounted");
  m_threads.emplace_back(
      [stream = std::move(stream), server = std::move(server), split = std::move(split), what]() mutable {
        auto r = serve_some(stream, *server, *split, false);
        if (!r) util::log::debug(what + ": " + r.error().message());
        const auto& s = server->stats();
        util::log::debug(what + ": served " + std::to_string(s.requests) + " requests (" + std::to_string(s.errors) +
                         " errors)");
      });
  return util::ok();
}

util::Result<void> WorkspaceMounts::attach(protocol::Client& client, const std::vector<WorkspaceMount>& mounts,
                                           const std::string& owner) {
  if (mounts.empty()) return util::ok();
  auto [uid, gid] = ML_TRY(resolve_owner(client, owner));
  for (size_t i = 0; i < mounts.size(); ++i) {
    const WorkspaceMount& m = mounts[i];
    std::string what = "mount " + m.source.string() + " at " + m.target;
    workspace::ShareOptions o;
    o.root = m.source;
    o.access = m.access;
    o.exclude = m.exclude;
    o.cache = m.cache;
    o.read_only_files = m.read_only_files;
    o.uid = uid;
    o.gid = gid;
    auto server = ML_TRY_CTX(workspace::FileServer::create(o), what);
    if (i < m_devices.size()) {
      // virtio-fs: the device thread answers every request; the channel only
      // asks the agent to mount the share and ends once it is mounted.
      std::shared_ptr<workspace::FileServer> shared(std::move(server));  // std::function must copy it
      m_devices[i]->set_handler([shared](uint32_t, std::string_view request) { return shared->handle(request); });
      auto mount = ML_TRY_CTX(client.open_stream("fuse", static_cast<int>(i)), what);
      while (ML_TRY_CTX(mount.read(), what)) {
      }
      util::log::debug(what + ": mounted (virtio-fs)");
    } else {
      ML_TRY(serve_channel(client, i, std::move(server), what));
    }
    if (m.mode == MountMode::Snapshot) {
      // The guest mounts the overlay (its lower is the share just served);
      // the channel ends when the overlay is in place.
      auto overlay = ML_TRY_CTX(client.open_stream("snapshot", static_cast<int>(i)), what);
      while (ML_TRY_CTX(overlay.read(), what + " (overlay)")) {
      }
      util::log::debug(what + ": snapshot overlay mounted");
    }
  }
  return util::ok();
}

}  // namespace engine
