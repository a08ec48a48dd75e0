#include "engine/layer_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/sandbox_state.hpp"
#include "util/atomic_file.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/sparse_copy.hpp"

namespace engine {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int64_t k_orphan_age_s = 3600;  // temp files / disks without a description older than this are leftovers

bool valid_key(const std::string& key) {
  return key.size() == 64 && key.find_first_not_of("0123456789abcdef") == std::string::npos;
}

fs::path meta_path(const util::Dirs& dirs, const std::string& key) { return layers_dir(dirs) / (key + ".json"); }

uint64_t allocated(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

}  // namespace

fs::path layers_dir(const util::Dirs& dirs) { return dirs.cache / "layers"; }
fs::path layer_disk_path(const util::Dirs& dirs, const std::string& key) { return layers_dir(dirs) / (key + ".ext4"); }

util::Result<LayerMeta> read_layer(const util::Dirs& dirs, const std::string& key) {
  if (!valid_key(key)) return util::make_error(util::ErrorCode::NotFound, "layer '" + key + "': not a layer key");
  if (!util::path_exists(layer_disk_path(dirs, key)))
    return util::make_error(util::ErrorCode::NotFound, "layer " + key + ": no disk");
  auto text = util::read_file(meta_path(dirs, key));
  if (!text) return util::make_error(util::ErrorCode::NotFound, "layer " + key + ": no description");
  try {
    json j = json::parse(*text);
    LayerMeta m;
    m.key = j.at("key").get<std::string>();
    m.task = j.at("task").get<std::string>();
    m.file = j.value("file", std::string());
    m.lowers = j.value("lowers", std::vector<std::string>{});
    m.created_unix = j.value("created_unix", int64_t{0});
    m.bytes = j.value("bytes", uint64_t{0});
    if (m.key != key) return util::make_error(util::ErrorCode::Io, "layer " + key + ": description names " + m.key);
    return m;
  } catch (const json::exception& e) {
    return util::make_error(util::ErrorCode::Io, "layer " + key + ": " + e.what());
  }
}

std::vector<std::string> layer_stack(const util::Dirs& dirs, const std::string& key) {
  auto meta = read_layer(dirs, key);
  if (!meta) return {};
  std::vector<std::string> stack{key};
  for (const auto& lower : meta->lowers) {
    if (lower == key || !read_layer(dirs, lower)) return {};
    stack.push_back(lower);
  }
  return stack;
}

util::Result<void> copy_sparse(int src, int dst) { return util::copy_sparse(src, dst); }

util::Result<LayerMeta> publish_layer(const util::Dirs& dirs, const fs::path& src, LayerMeta meta) {
  if (!valid_key(meta.key)) return util::make_error(util::ErrorCode::Internal, "layer key '" + meta.key + "'");
  ML_TRY(util::make_dirs(layers_dir(dirs), 0755));
  fs::path disk = layer_disk_path(dirs, meta.key);
  {
    util::Fd in = ML_TRY(util::open_fd(src, O_RDONLY | O_CLOEXEC));
    util::AtomicFile out = ML_TRY(util::AtomicFile::create(disk, 0644));
    ML_TRY_CTX(copy_sparse(in.get(), out.fd()), "copy " + src.string());
    ML_TRY(out.commit());
  }
  meta.bytes = allocated(disk);
  meta.created_unix = std::time(nullptr);
  json j = {{"key", meta.key},
            {"task", meta.task},
            {"file", meta.file},
            {"lowers", meta.lowers},
            {"created_unix", meta.created_unix},
            {"bytes", meta.bytes}};
  ML_TRY(util::write_file_atomic(meta_path(dirs, meta.key), j.dump(2) + "\n", 0644));
  return meta;
}

util::Result<oci::FileLock> lock_layers(const util::Dirs& dirs, oci::LockMode mode) {
  fs::path locks = dirs.cache / "locks";
  ML_TRY(util::make_dirs(locks));
  return oci::FileLock::acquire(locks / "layers.lock", mode);
}

util::Result<LayerGcReport> collect_layers(const util::Dirs& dirs, oci::DryRun dry_run) {
  LayerGcReport report;
  fs::path dir = layers_dir(dirs);
  if (!util::path_exists(dir)) return report;
  // An `up` between choosing its layers and recording them finishes first.
  oci::FileLock lock = ML_TRY(lock_layers(dirs, oci::LockMode::Exclusive));
  std::set<std::string> keep;
  auto keep_stack = [&](const std::string& key) {
    keep.insert(key);
    if (auto m = read_layer(dirs, key))
      for (const auto& l : m->lowers) keep.insert(l);
  };
  // 1. Layers that sandboxes (running or kept) were booted on.
  for (const auto& name : list_sandboxes(dirs)) {
    auto record = read_record(sandbox_paths(dirs, name));
    if (!record) continue;
    for (const auto& key : record->layers) keep_stack(key);
  }
  // 2. The newest layer per (Matchlockfile, task).
  std::map<std::pair<std::string, std::string>, LayerMeta> newest;
  std::set<std::string> described;  // keys with a description, before anything is removed
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (!name.ends_with(".json") || name.find(".tmp-") != std::string::npos) continue;
    described.insert(name.substr(0, name.size() - 5));
    auto m = read_layer(dirs, name.substr(0, name.size() - 5));
    if (!m) continue;
    auto& slot = newest[{m->file, m->task}];
    if (slot.key.empty() || m->created_unix > slot.created_unix) slot = *m;
  }
  for (const auto& [id, m] : newest) keep_stack(m.key);
  // 3. Everything else: older layers, temp files and disks without a description (once old).
  int64_t now = std::time(nullptr);
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    std::string key = name.substr(0, name.find('.'));
    bool temp = name.find(".tmp-") != std::string::npos;
    if (!temp && keep.count(key)) continue;
    if (temp || !described.count(key)) {
      struct stat st {};
      if (::stat(e.path().c_str(), &st) == 0 && now - st.st_mtime < k_orphan_age_s) continue;  // maybe being written
    }
    report.bytes_reclaimed += allocated(e.path());
    report.paths.push_back(e.path().string());
    if (name.ends_with(".ext4")) ++report.removed;
    if (dry_run == oci::DryRun::No && ::unlink(e.path().c_str()) < 0 && errno != ENOENT)
      return util::sys_error("remove", e.path());
  }
  if (ec) return util::make_error(util::ErrorCode::Io, "gc " + dir.string() + ": " + ec.message());
  return report;
}

}  // namespace engine
