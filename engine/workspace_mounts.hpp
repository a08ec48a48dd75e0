// Workspace mounts at runtime (docs/workspace.md): which host directory each
// [[mounts]] entry serves, and the host threads that serve them. Each mount
// is answered by a workspace::FileServer over one of two transports:
//  - virtio-fs (the default where the kernel has the module): a vhost-user
//    device per mount (backends/vhost/) created before QEMU starts; the guest
//    kernel's FUSE requests are read straight out of guest memory.
//  - channel: the agent pumps /dev/fuse over a "fuse" protocol channel (port =
//    mount id); for kernels without virtiofs and VMMs without vhost-user.
// Either way the host opens the "fuse" channel after boot to have the agent
// mount the share, before any task runs.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backends/kernel_bundle.hpp"
#include "backends/qemu/qemu_vm.hpp"
#include "backends/vhost/vhost_user_device.hpp"
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
  workspace::CachePolicy cache = workspace::CachePolicy::Auto;
  std::vector<std::string> exclude;                    // globs, relative to source
  std::vector<std::filesystem::path> read_only_files;  // always read-only (Matchlockfile, lock)
};

// Git mode hands us its clone: given a git-mode [[mounts]] entry, the
// directory to serve read-write (engine/git_mounts.hpp git_mount_source).
using GitSourceFn = std::function<util::Result<std::filesystem::path>(const Mount&)>;
// Named volumes: given a volume [[mounts]] entry, its data directory (engine/volumes.hpp
// lease_volumes, held by the caller while the sandbox runs).
using VolumeSourceFn = std::function<util::Result<std::filesystem::path>(const Mount&)>;

// The mounts of CONFIG. rw/ro serve the source; git serves GIT_SOURCE(mount)
// read-write (an error when GIT_SOURCE is empty); snapshot serves the source
// read-only and the guest overlays it (upper on the sandbox disk). A target
// inside another mount's target comes after it (the outer one is mounted
// first; the agent creates the inner target directory in it); that needs the
// virtio-fs transport (see nested_mount).
// The Matchlockfile and Matchlockfile.lock are read-only in every mount. A volume
// serves VOLUME_SOURCE(mount) (an error when VOLUME_SOURCE is empty).
util::Result<std::vector<WorkspaceMount>> plan_workspace_mounts(const Config& config,
                                                                const GitSourceFn& git_source = {},
                                                                const VolumeSourceFn& volume_source = {});

// The first (inner, outer) pair of targets where one lies inside the other.
// Under the channel transport the agent would have to serve the outer FUSE
// mount while it creates the inner target in it, so SandboxVm refuses these.
std::optional<std::pair<std::string, std::string>> nested_mount(const std::vector<WorkspaceMount>& mounts);

// A plain read-write mount of DIR at TARGET (for callers outside a Matchlockfile).
WorkspaceMount rw_mount(const std::filesystem::path& dir, const std::string& target);

enum class ShareTransport { Channel, Virtiofs };
// Virtiofs when KERNEL has the virtiofs module, unless the environment says
// MATCHLOCK_WORKSPACE_TRANSPORT=channel (or =virtiofs, which then must work).
util::Result<ShareTransport> choose_transport(const backends::KernelBundle& kernel);
const char* to_string(ShareTransport transport);
// The virtio-fs tag of mount ID.
std::string virtiofs_tag(size_t id);

// BootConfig.mounts for MOUNTS (ids are the indexes).
std::vector<protocol::MountSpec> boot_mounts(const std::vector<WorkspaceMount>& mounts, ShareTransport transport);

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

  // Virtio-fs only, before QEMU starts: one vhost-user device per mount (its
  // thread answers QEMU at once; requests wait until attach()). Returns the
  // devices for VmSpec.vhost_fs; call vm_started() once QEMU has them.
  util::Result<std::vector<backends::qemu::VhostUserFs>> prepare(const std::vector<WorkspaceMount>& mounts);
  void vm_started();

  // For each mount: creates its FileServer, has the agent mount it (the
  // "fuse" channel) and serves it: the channel transport answers the INIT
  // here and then serves on a thread; virtio-fs hands the server to the
  // mount's device. OWNER is the guest user files of the host user appear as
  // ("", "root", "uid", "uid:gid", or a name looked up in the guest).
  util::Result<void> attach(protocol::Client& client, const std::vector<WorkspaceMount>& mounts,
                            const std::string& owner);

 private:
  // The channel transport: the INIT handshake, then a thread serving the stream.
  util::Result<void> serve_channel(protocol::Client& client, size_t id, std::unique_ptr<workspace::FileServer> server,
                                   const std::string& what);

  std::vector<std::thread> m_threads;
  // virtio-fs: each device's handler owns its mount's FileServer.
  std::vector<std::unique_ptr<backends::vhost::VhostUserDevice>> m_devices;
};

}  // namespace engine
