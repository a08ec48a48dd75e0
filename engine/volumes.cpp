#include "engine/volumes.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "engine/config_parse.hpp"
#include "util/atomic_file.hpp"
#include "util/fs.hpp"

namespace engine {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* k_meta = "volume.json";

bool is_name(std::string_view v) {
  if (v.empty() || v.size() > 63) return false;
  if (!((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= '0' && v[0] <= '9'))) return false;
  return v.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") == std::string_view::npos;
}

bool is_sandbox_name(std::string_view v) {
  return !v.empty() && v.size() <= 128 && v[0] != '.' &&
         v.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
             std::string_view::npos;
}

std::string canonical_text(const fs::path& p) {
  std::error_code ec;
  auto c = fs::weakly_canonical(fs::absolute(p, ec), ec);
  return (ec ? p : c).lexically_normal().string();
}

// Allocated bytes of everything below DIR; nothing followed, unreadable parts skipped.
uint64_t tree_bytes(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

// rm -rf that also removes what the guest made unreadable (a directory chmod 000).
util::Result<void> remove_tree(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (!ec) return util::ok();
  ec.clear();
  ::chmod(dir.c_str(), 0700);
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISDIR(st.st_mode)) ::chmod(it->path().c_str(), 0700);
  }
  ec.clear();
  fs::remove_all(dir, ec);
  if (ec) return util::sys_error_code(ec.value(), "remove", dir);
  return util::ok();
}

struct Meta {
  std::string file;
  int64_t created = 0;
};

util::Result<Meta> read_meta(const fs::path& dir) {
  auto text = ML_TRY(util::read_file(dir / k_meta));
  try {
    auto j = json::parse(text);
    return Meta{j.at("file").get<std::string>(), j.value("created", int64_t{0})};
  } catch (const json::exception& e) {
    return util::make_error(util::ErrorCode::Integrity, (dir / k_meta).string() + ": " + e.what());
  }
}

// Whether the volume's lock can be taken exclusively right now (nobody mounts it).
bool in_use(const fs::path& dir) {
  auto lock = oci::FileLock::acquire(dir / "lock", oci::LockMode::Exclusive, oci::Wait::No);
  return !lock;
}

bool orphaned(const std::string& file, const std::string& volume) {
  if (!util::path_exists(file)) return true;
  auto config = load_config(file);
  if (!config) return false;  // unreadable now (mid-edit?): keep it
  return std::none_of(config->mounts.begin(), config->mounts.end(), [&](const Mount& m) { return m.volume == volume; });
}

}  // namespace

fs::path volumes_root(const util::Dirs& dirs) { return dirs.state / "volumes"; }

fs::path volume_dir(const util::Dirs& dirs, const std::string& sandbox, const std::string& volume) {
  return volumes_root(dirs) / sandbox / volume;
}

util::Result<VolumeRef> parse_volume_ref(std::string_view text, std::string_view default_sandbox) {
  VolumeRef ref;
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    if (default_sandbox.empty())
      return util::make_error(util::ErrorCode::Usage, "volume \"" + std::string(text) + "\": name it SANDBOX/VOLUME");
    ref.sandbox = std::string(default_sandbox);
    ref.volume = std::string(text);
  } else {
    ref.sandbox = std::string(text.substr(0, slash));
    ref.volume = std::string(text.substr(slash + 1));
  }
  if (!is_sandbox_name(ref.sandbox) || !is_name(ref.volume))
    return util::make_error(util::ErrorCode::Usage,
                            "\"" + std::string(text) + "\" is not a volume name (SANDBOX/VOLUME)");
  return ref;
}

util::Result<std::vector<VolumeLease>> lease_volumes(const util::Dirs& dirs, const Config& config,
                                                     const std::string& sandbox) {
  std::vector<VolumeLease> out;
  const std::string file = canonical_text(config.file);
  for (size_t i = 0; i < config.mounts.size(); ++i) {
    const Mount& m = config.mounts[i];
    if (m.volume.empty()) continue;
    std::string where = config.where("mounts[" + std::to_string(i) + "].volume");
    fs::path dir = volume_dir(dirs, sandbox, m.volume);
    ML_TRY(util::make_dirs(volumes_root(dirs), 0700));
    ML_TRY(util::make_dirs(dir.parent_path(), 0700));
    if (::mkdir(dir.c_str(), 0700) == 0) {
      json meta = {
          {"sandbox", sandbox}, {"volume", m.volume}, {"file", file}, {"created", int64_t(std::time(nullptr))}};
      ML_TRY(util::write_file_atomic(dir / k_meta, meta.dump(2) + "\n", 0600));
    } else if (errno != EEXIST) {
      return util::sys_error("mkdir", dir);
    }
    VolumeLease lease;
    lease.volume = m.volume;
    lease.lock = ML_TRY(oci::FileLock::acquire(dir / "lock", oci::LockMode::Shared));
    auto meta = read_meta(dir);
    if (!meta) return std::move(meta).error().context(where + ": volume " + sandbox + "/" + m.volume);
    if (meta->file != file)
      return util::make_error(util::ErrorCode::Config,
                              where + ": volume " + sandbox + "/" + m.volume + " belongs to " + meta->file +
                                  ", not to this Matchlockfile; use another sandbox name, or remove it first "
                                  "(matchlock volume rm " +
                                  sandbox + "/" + m.volume + ")");
    lease.data = dir / "data";
    if (::mkdir(lease.data.c_str(), 0700) < 0 && errno != EEXIST) return util::sys_error("mkdir", lease.data);
    struct stat st {};
    if (::lstat(lease.data.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
      return util::make_error(util::ErrorCode::Integrity, lease.data.string() + " is not a directory");
    out.push_back(std::move(lease));
  }
  return out;
}

util::Result<fs::path> leased_volume(const std::vector<VolumeLease>& leases, const Mount& mount) {
  for (const auto& l : leases)
    if (l.volume == mount.volume) return l.data;
  return util::make_error(util::ErrorCode::Internal, "volume " + mount.volume + " was not leased");
}

util::Result<std::vector<VolumeInfo>> list_volumes(const util::Dirs& dirs) {
  std::vector<VolumeInfo> out;
  fs::path root = volumes_root(dirs);
  if (!util::path_exists(root)) return out;
  std::error_code ec;
  for (const auto& s : fs::directory_iterator(root, ec)) {
    if (!s.is_directory() || s.is_symlink()) continue;
    std::error_code ec2;
    for (const auto& v : fs::directory_iterator(s.path(), ec2)) {
      if (!v.is_directory() || v.is_symlink()) continue;
      VolumeInfo info;
      info.sandbox = s.path().filename().string();
      info.volume = v.path().filename().string();
      info.data = v.path() / "data";
      if (auto meta = read_meta(v.path())) {
        info.file = meta->file;
        info.created_unix = meta->created;
      }
      info.bytes = tree_bytes(v.path());
      info.in_use = in_use(v.path());
      info.orphaned = info.file.empty() || orphaned(info.file, info.volume);
      out.push_back(std::move(info));
    }
  }
  if (ec) return util::sys_error_code(ec.value(), "list", root);
  std::sort(out.begin(), out.end(), [](const VolumeInfo& a, const VolumeInfo& b) {
    return std::tie(a.sandbox, a.volume) < std::tie(b.sandbox, b.volume);
  });
  return out;
}

util::Result<void> remove_volume(const util::Dirs& dirs, const VolumeRef& ref) {
  fs::path dir = volume_dir(dirs, ref.sandbox, ref.volume);
  struct stat st {};
  if (::lstat(dir.c_str(), &st) < 0 || !S_ISDIR(st.st_mode))
    return util::make_error(util::ErrorCode::Usage, "no volume " + ref.text());
  auto lock = oci::FileLock::acquire(dir / "lock", oci::LockMode::Exclusive, oci::Wait::No);
  if (!lock)
    return util::make_error(
        util::ErrorCode::Usage,
        "volume " + ref.text() + " is in use by a sandbox; stop it first (matchlock down " + ref.sandbox + ")");
  // Moved aside first, so a sandbox starting now creates a fresh one instead of using a half-removed tree.
  fs::path doomed = dir.parent_path() / (".rm-" + ref.volume + "-" + std::to_string(::getpid()));
  if (::rename(dir.c_str(), doomed.c_str()) < 0) return util::sys_error("rename", dir);
  ML_TRY(remove_tree(doomed));
  std::error_code ec;
  fs::remove(dir.parent_path(), ec);  // the sandbox's directory, when it was its last volume
  return util::ok();
}

util::Result<VolumeGcReport> collect_volumes(const util::Dirs& dirs, GcVolumes mode, oci::DryRun dry_run) {
  VolumeGcReport report;
  for (const auto& v : ML_TRY(list_volumes(dirs))) {
    if (mode == GcVolumes::RemoveOrphaned && v.orphaned && !v.in_use) {
      report.removed++;
      report.bytes_reclaimed += v.bytes;
      report.paths.push_back(v.data.parent_path().string());
      if (dry_run == oci::DryRun::No) {
        auto r = remove_volume(dirs, {v.sandbox, v.volume});
        if (!r && r.error().code() != util::ErrorCode::Usage) return std::move(r).error();
      }
      continue;
    }
    report.count++;
    report.bytes += v.bytes;
  }
  return report;
}

}  // namespace engine
