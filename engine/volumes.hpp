// Named volumes ([[mounts]] volume = "NAME", docs/matchlockfile.md): host directories
// owned by matchlock that outlive a sandbox (down/up, --recreate, rm), served into the
// guest by the same workspace::FileServer as any mount, so the same confinement applies.
//
//   <state>/volumes/<sandbox>/<volume>/data/        what the guest sees (0700)
//   <state>/volumes/<sandbox>/<volume>/volume.json  {sandbox, volume, file, created}
//   <state>/volumes/<sandbox>/<volume>/lock         flock: Shared while a sandbox mounts it
//
// A volume belongs to one sandbox name and to the Matchlockfile that created it: another
// Matchlockfile naming the same sandbox and volume (a cloned repository that sets
// `name = "myproject"`) is refused instead of being handed the first one's data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"
#include "oci/image_records.hpp"
#include "oci/store.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

std::filesystem::path volumes_root(const util::Dirs& dirs);
std::filesystem::path volume_dir(const util::Dirs& dirs, const std::string& sandbox, const std::string& volume);

struct VolumeRef {
  std::string sandbox;
  std::string volume;
  std::string text() const { return sandbox + "/" + volume; }
};
// "SANDBOX/VOLUME", or "VOLUME" of DEFAULT_SANDBOX (empty: an error asking for SANDBOX/).
util::Result<VolumeRef> parse_volume_ref(std::string_view text, std::string_view default_sandbox);

// Held while a sandbox mounts its volumes: `volume rm` and `gc --volumes` leave a
// leased volume alone.
struct VolumeLease {
  std::string volume;
  std::filesystem::path data;  // the directory to serve
  oci::FileLock lock;
};

// Creates (0700, on first use) and leases every volume CONFIG mounts, for SANDBOX.
// Errors (Config) name the mount's FILE:LINE:COL when a volume belongs to another Matchlockfile.
util::Result<std::vector<VolumeLease>> lease_volumes(const util::Dirs& dirs, const Config& config,
                                                     const std::string& sandbox);

// The leased data directory of MOUNT's volume (for plan_workspace_mounts' VolumeSourceFn).
util::Result<std::filesystem::path> leased_volume(const std::vector<VolumeLease>& leases, const Mount& mount);

struct VolumeInfo {
  std::string sandbox;
  std::string volume;
  std::filesystem::path data;
  std::string file;  // the Matchlockfile that created it
  int64_t created_unix = 0;
  uint64_t bytes = 0;     // allocated size of everything in it
  bool in_use = false;    // a sandbox mounts it now
  bool orphaned = false;  // its Matchlockfile is gone or no longer mounts it
};
// Every volume, sorted by sandbox then name.
util::Result<std::vector<VolumeInfo>> list_volumes(const util::Dirs& dirs);

// Deletes the volume (a Usage error while it is in use, or when there is none).
util::Result<void> remove_volume(const util::Dirs& dirs, const VolumeRef& ref);

struct VolumeGcReport {
  uint64_t count = 0;  // volumes kept
  uint64_t bytes = 0;  // their size
  uint64_t removed = 0;
  uint64_t bytes_reclaimed = 0;
  std::vector<std::string> paths;
};
enum class GcVolumes { Count, RemoveOrphaned };
// `gc` accounting: every volume is counted; with RemoveOrphaned the orphaned ones that
// are not in use are removed too (never by default: volumes are data, not cache).
util::Result<VolumeGcReport> collect_volumes(const util::Dirs& dirs, GcVolumes mode, oci::DryRun dry_run);

}  // namespace engine
