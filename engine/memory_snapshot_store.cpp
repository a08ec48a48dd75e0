#include "engine/memory_snapshot_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "util/fd.hpp"
#include "util/fs.hpp"

namespace engine {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* k_meta = "meta.json";
constexpr const char* k_tmp_prefix = ".tmp-";

bool valid_key(const std::string& key) {
  return key.size() == 64 &&
         std::all_of(key.begin(), key.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

uint64_t allocated(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

uint64_t allocated_tree(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    total += allocated(it->path());
  return total;
}

util::Error unusable(const std::string& key, const std::string& why) {
  return util::make_error(util::ErrorCode::Integrity, "memory snapshot " + key.substr(0, 12) + " is unusable: " + why);
}

util::Result<MemorySnapshot> read_meta(const fs::path& dir) {
  auto text = util::read_file(dir / k_meta);
  if (!text) return std::move(text).error();
  MemorySnapshot m;
  try {
    json j = json::parse(*text);
    m.key = j.at("key").get<std::string>();
    m.inputs = j.at("inputs").get<std::vector<std::string>>();
    m.origin = j.value("origin", std::string());
    m.uname = j.value("uname", std::string());
    m.created_unix = j.value("created_unix", int64_t{0});
    m.ram_bytes = j.at("ram_bytes").get<uint64_t>();
    m.disk_bytes = j.at("disk_bytes").get<uint64_t>();
  } catch (const json::exception& e) {
    return util::make_error(util::ErrorCode::Integrity, (dir / k_meta).string() + ": " + e.what());
  }
  m.dir = dir;
  m.bytes = allocated_tree(dir);
  return m;
}

util::Result<void> fsync_path(const fs::path& p, int flags) {
  util::Fd fd = ML_TRY(util::open_fd(p, flags | O_CLOEXEC));
  if (::fsync(fd.get()) < 0) return util::sys_error("fsync", p);
  return util::ok();
}

}  // namespace

fs::path memory_snapshots_dir(const util::Dirs& dirs) { return dirs.cache / "snapshots"; }

util::Result<MemorySnapshot> find_memory_snapshot(const util::Dirs& dirs, const std::string& key,
                                                  const std::vector<std::string>& inputs, uint64_t ram_bytes,
                                                  uint64_t disk_bytes) {
  if (!valid_key(key)) return util::make_error(util::ErrorCode::Internal, "memory snapshot key '" + key + "'");
  fs::path dir = memory_snapshots_dir(dirs) / key;
  if (!util::path_exists(dir)) return util::make_error(util::ErrorCode::NotFound, "no memory snapshot " + key);
  if (!util::path_exists(dir / k_meta)) return unusable(key, "meta.json is missing (a partial snapshot)");
  auto meta = read_meta(dir);
  if (!meta) return unusable(key, meta.error().message());
  if (meta->key != key) return unusable(key, "meta.json names key " + meta->key);
  if (meta->inputs != inputs) return unusable(key, "it was saved for other inputs");
  struct stat st {};
  auto size_is = [&](const fs::path& p, uint64_t want, const char* what) -> util::Result<void> {
    if (::stat(p.c_str(), &st) < 0 || !S_ISREG(st.st_mode)) return unusable(key, std::string(what) + " is missing");
    if (want && static_cast<uint64_t>(st.st_size) != want)
      return unusable(
          key, std::string(what) + " has " + std::to_string(st.st_size) + " bytes, expected " + std::to_string(want));
    if (!want && st.st_size == 0) return unusable(key, std::string(what) + " is empty");
    return util::ok();
  };
  ML_TRY(size_is(meta->ram(), ram_bytes, "ram"));
  ML_TRY(size_is(meta->upper(), disk_bytes, "upper.ext4"));
  ML_TRY(size_is(meta->state(), 0, "state"));
  if (meta->ram_bytes != ram_bytes || meta->disk_bytes != disk_bytes) return unusable(key, "meta.json sizes differ");
  return meta;
}

util::Result<MemorySnapshotWriter> MemorySnapshotWriter::create(const util::Dirs& dirs, std::string key) {
  if (!valid_key(key)) return util::make_error(util::ErrorCode::Internal, "memory snapshot key '" + key + "'");
  ML_TRY(util::make_dirs(memory_snapshots_dir(dirs), 0755));
  util::TempDir tmp = ML_TRY(util::TempDir::create(memory_snapshots_dir(dirs), k_tmp_prefix));
  return MemorySnapshotWriter(dirs, std::move(key), std::move(tmp));
}

util::Result<MemorySnapshot> MemorySnapshotWriter::commit(MemorySnapshot meta) {
  const fs::path& tmp = m_tmp.path();
  for (const char* f : {"ram", "state", "upper.ext4"}) ML_TRY_CTX(fsync_path(tmp / f, O_RDONLY), "memory snapshot");
  meta.key = m_key;
  if (meta.created_unix == 0) meta.created_unix = std::time(nullptr);
  json j = {{"format", 1},
            {"key", meta.key},
            {"inputs", meta.inputs},
            {"origin", meta.origin},
            {"uname", meta.uname},
            {"created_unix", meta.created_unix},
            {"ram_bytes", meta.ram_bytes},
            {"disk_bytes", meta.disk_bytes}};
  {
    util::Fd out = ML_TRY(util::open_fd(tmp / k_meta, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    ML_TRY(util::write_all(out.get(), j.dump(2) + "\n"));
    if (::fsync(out.get()) < 0) return util::sys_error("fsync", tmp / k_meta);
  }
  ::chmod(tmp.c_str(), 0755);
  ML_TRY(fsync_path(tmp, O_RDONLY | O_DIRECTORY));
  fs::path final_dir = memory_snapshots_dir(m_dirs) / m_key;
  if (::rename(tmp.c_str(), final_dir.c_str()) < 0) {
    if (errno == EEXIST || errno == ENOTEMPTY) {  // someone else published this key first
      auto theirs = read_meta(final_dir);
      if (theirs) return theirs;
    }
    return util::sys_error("rename", final_dir);
  }
  m_tmp.release();
  ML_TRY(fsync_path(memory_snapshots_dir(m_dirs), O_RDONLY | O_DIRECTORY));
  meta.dir = final_dir;
  meta.bytes = allocated_tree(final_dir);
  return meta;
}

util::Result<void> remove_memory_snapshot(const util::Dirs& dirs, const std::string& key) {
  if (!valid_key(key)) return util::make_error(util::ErrorCode::Internal, "memory snapshot key '" + key + "'");
  fs::path dir = memory_snapshots_dir(dirs) / key;
  if (!util::path_exists(dir)) return util::ok();
  util::TempDir aside = ML_TRY(util::TempDir::create(memory_snapshots_dir(dirs), k_tmp_prefix));
  fs::path target = aside.path() / "old";
  if (::rename(dir.c_str(), target.c_str()) < 0 && errno != ENOENT) return util::sys_error("rename", dir);
  return util::ok();  // ~TempDir removes it
}

std::vector<MemorySnapshot> list_memory_snapshots(const util::Dirs& dirs) {
  std::vector<MemorySnapshot> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(memory_snapshots_dir(dirs), ec)) {
    std::string name = e.path().filename().string();
    if (!valid_key(name)) continue;
    if (auto m = read_meta(e.path()); m && m->key == name) out.push_back(std::move(*m));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created_unix > b.created_unix; });
  return out;
}

util::Result<MemorySnapshotGcReport> collect_memory_snapshots(const util::Dirs& dirs, oci::DryRun dry_run) {
  MemorySnapshotGcReport report;
  std::map<std::string, std::string> newest;  // origin -> key (list is newest first)
  for (const auto& s : list_memory_snapshots(dirs)) newest.emplace(s.origin, s.key);
  std::error_code ec;
  std::vector<fs::path> doomed;
  for (const auto& e : fs::directory_iterator(memory_snapshots_dir(dirs), ec)) {
    std::string name = e.path().filename().string();
    bool keep = false;
    if (valid_key(name)) {
      auto m = read_meta(e.path());
      // A Matchlockfile that is gone saves no more: its snapshots go too.
      bool origin_gone = m && !m->origin.empty() && m->origin[0] == '/' && !util::path_exists(m->origin);
      keep = m && m->key == name && newest[m->origin] == name && !origin_gone;
    }
    if (!keep) doomed.push_back(e.path());
  }
  for (const auto& p : doomed) {
    report.removed++;
    report.bytes_reclaimed += allocated_tree(p);
    report.paths.push_back(p.string());
    if (dry_run == oci::DryRun::No) fs::remove_all(p, ec);
  }
  return report;
}

}  // namespace engine
