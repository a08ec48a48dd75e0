// Workspace mounts at runtime (docs/workspace.md): which host directory each
// [[mounts]] entry serves, and the host threads that serve them. The guest
// agent mounts FUSE at every target during boot (BootConfig.mounts); the host
// opens one "fuse" channel per mount (port = mount id) and answers the guest
// kernel's requests with a workspace::FileServer on its own thread.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/config.hpp"
#include "guest/protocol/client.hpp"
#include "guest/protocol/types.hpp"
#include "util/result.hpp"
#include "workspace/file_server.hpp"

namespace engine {

struct WorkspaceMount {
  std::filesystem::path source;  // the host directory served (absolute)
  std::string target;            // absolute guest path
  workspace::Access access = workspace::Access::ReadWrite;
  MountMode mode = MountMode::Rw;  // Snapshot: served read-only, overlaid in the guest (engine/snapshot.hpp)
  std::vector<std::string> exclude;                    // globs, relative to source
  std::vector<std::filesystem::path> read_only_files;  // always read-only (Matchlockfile, lock)
};

// Git mode hands us its clone: given a git-mode [[mounts]] entry, the
// directory to serve read-write (engine/git_mounts.hpp git_mount_source).
using GitSourceFn = std::function<util::Result<std::filesystem::path>(const Mount&)>;

// The mounts of CONFIG. rw/ro serve the source; git serves GIT_SOURCE(mount)
// read-write (an error when GIT_SOURCE is empty); snapshot serves the source
// read-only and the guest overlays it (upper on the sandbox disk). Targets
// nested inside another mount are refused.
// The Matchlockfile and Matchlockfile.lock are read-only in every mount.
util::Result<std::vector<WorkspaceMount>> plan_workspace_mounts(const Config& config, const GitSourceFn& git_source = {});

// A plain read-write mount of DIR at TARGET (for callers outside a Matchlockfile).
WorkspaceMount rw_mount(const std::filesystem::path& dir, const std::string& target);

// BootConfig.mounts for MOUNTS (ids are the indexes).
std::vector<protocol::MountSpec> boot_mounts(const std::vector<WorkspaceMount>& mounts);

// Serves FUSE requests from STREAM with SERVER until the stream ends (the
// guest unmounted, the VM stopped). Also usable from a bench harness.
util::Result<void> serve_fuse_stream(protocol::Stream& stream, workspace::FileServer& server);

// The running servers of one sandbox.
class WorkspaceMounts {
 public:
  WorkspaceMounts() = default;
  WorkspaceMounts(const WorkspaceMounts&) = delete;
  WorkspaceMounts& operator=(const WorkspaceMounts&) = delete;
  // Joins the threads. They end when the client disconnects, so the owner
  // closes the protocol::Client before destroying this (SandboxVm does).
  ~WorkspaceMounts();

  // For each mount: opens its "fuse" channel and answers the guest's INIT
  // (after which the mount is usable in the guest), then serves it on a
  // thread. OWNER is the guest user files of the host user appear as
  // ("", "root", "uid", "uid:gid", or a name looked up in the guest).
  util::Result<void> attach(protocol::Client& client, const std::vector<WorkspaceMount>& mounts,
                            const std::string& owner);

 private:
  std::vector<std::thread> m_threads;
};

}  // namespace engine
