// Cached task layers (`cache = true`, docs/tasks.md "Cached layers").
//
// `up` runs its tasks in order (dependencies first). The cacheable prefix of
// that order ends at its last task with `cache = true`; the tasks without it
// inside the prefix (a company CA, a config file) are part of the layers that
// follow them. After a cached task of the prefix succeeds, the supervisor
// freezes the guest's writable disk and copies it into a layer
// (engine/layer_store.hpp) keyed by
//   sha256(base rootfs sha256, key of the previous task in the prefix (cached or not),
//          task definition: run, env over [sandbox.env], user, workdir,
//          sha256 of every file its `inputs` globs match).
// The next boot attaches the deepest usable layer of the prefix (with the
// layers it was captured on) read-only under the writable disk, and every task
// up to it, uncached ones included, is skipped: they run again only when that
// layer is rebuilt. Changing a task, an input file, an earlier task or the
// image changes the key, so that task and every later one run again.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/config.hpp"
#include "engine/layer_store.hpp"
#include "guest/protocol/client.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

// (task, key) for each `cache = true` task of the cacheable prefix of ORDER.
using TaskKeys = std::vector<std::pair<std::string, std::string>>;

// The sha256 of the image's rootfs (from its rootfs cache description), the base of every key.
util::Result<std::string> rootfs_sha256(const std::filesystem::path& image_ext4);

// Keys of the cacheable prefix of ORDER (`up` tasks, dependencies first).
util::Result<TaskKeys> task_layer_keys(const Config& config, const std::string& base,
                                       const std::vector<std::string>& order);

// How many tasks of ORDER the cacheable prefix holds (up to its last `cache = true` task).
size_t cacheable_prefix(const Config& config, const std::vector<std::string>& order);

// "FILE:LINE:COL: task T: cache = true, but ..." for every cache = true task that
// is never cached: `up` (ORDER) does not run it. `validate`, `tasks` and `up` print them.
std::vector<std::string> uncacheable_tasks(const Config& config, const std::vector<std::string>& order);

struct LayerPlan {
  std::vector<std::string> attach;   // layer keys, topmost first (the deepest usable layer and its lowers)
  std::vector<std::string> skipped;  // tasks the attached layer already contains (in order, uncached ones too)
  TaskKeys capture;                  // the remaining tasks of the prefix: capture a layer after each succeeds
};
util::Result<LayerPlan> plan_task_layers(const util::Dirs& dirs, const Config& config, const std::string& base,
                                         const std::vector<std::string>& order);

// The supervisor's plan at boot: the base is the image's rootfs, the order the `up` tasks.
util::Result<LayerPlan> plan_sandbox_layers(const util::Dirs& dirs, const Config& config,
                                            const std::filesystem::path& image_ext4);

// Freezes the guest's writable disk (UPPER on the host), publishes a copy as
// layer META.key, thaws (also when the copy failed). Returns the published layer.
util::Result<LayerMeta> capture_task_layer(const util::Dirs& dirs, protocol::Client& client,
                                           const std::filesystem::path& upper, LayerMeta meta);

enum class LayerState { Cached, Stale, NotCached };
const char* to_string(LayerState s);  // "cached", "stale", "-"
// The state of every task: Cached (a usable layer for its current key), Stale
// (cacheable but no layer for its current key), NotCached (no `cache = true`, or
// not run by `up`).
std::map<std::string, LayerState> task_layer_states(const util::Dirs& dirs, const Config& config, const TaskKeys& keys);

}  // namespace engine
