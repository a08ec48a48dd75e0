#include "oci/image_records.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"

namespace oci {

using util::ErrorCode;
using util::make_error;

namespace {

using Json = nlohmann::json;

std::filesystem::path record_path(const Store& store, const ImageRecord& r) {
  return store.images_dir() / (util::sha256_hex(r.reference + "\n" + r.platform) + ".json");
}

util::Result<ImageRecord> parse_record(const std::string& text) {
  auto j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(ErrorCode::Integrity, "not a JSON object");
  try {
    ImageRecord r;
    r.reference = j.at("reference").get<std::string>();
    r.platform = j.at("platform").get<std::string>();
    r.source = j.value("source", "");
    r.index_digest = j.value("index_digest", "");
    r.manifest_digest = j.at("manifest_digest").get<std::string>();
    r.config_digest = j.value("config_digest", "");
    r.blobs = j.value("blobs", std::vector<std::string>{});
    r.size = j.value("size", uint64_t{0});
    r.pulled_at = j.value("pulled_at", int64_t{0});
    return r;
  } catch (const Json::exception& e) {
    return make_error(ErrorCode::Integrity, e.what());
  }
}

uint64_t disk_size(const std::filesystem::path& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

}  // namespace

util::Result<void> write_image_record(const Store& store, const ImageRecord& r) {
  Json j = {{"reference", r.reference},
            {"platform", r.platform},
            {"source", r.source},
            {"index_digest", r.index_digest},
            {"manifest_digest", r.manifest_digest},
            {"config_digest", r.config_digest},
            {"blobs", r.blobs},
            {"size", r.size},
            {"pulled_at", r.pulled_at}};
  return util::write_file_atomic(record_path(store, r), j.dump(2) + "\n");
}

util::Result<std::vector<ImageRecord>> list_image_records(const Store& store) {
  std::vector<ImageRecord> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(store.images_dir(), ec)) {
    if (e.path().extension() != ".json") continue;
    auto text = util::read_file(e.path());
    if (!text) continue;  // removed concurrently
    auto r = parse_record(*text);
    if (!r) {
      util::log::warn("ignoring image record " + e.path().string() + ": " + r.error().message());
      continue;
    }
    out.push_back(std::move(*r));
  }
  if (ec) return make_error(ErrorCode::Io, "list " + store.images_dir().string() + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const ImageRecord& a, const ImageRecord& b) {
    return std::tie(a.reference, a.platform) < std::tie(b.reference, b.platform);
  });
  return out;
}

std::optional<ImageRecord> find_image_record(const Store& store, const std::string& reference,
                                             const std::string& platform) {
  ImageRecord key;
  key.reference = reference;
  key.platform = platform;
  auto text = util::read_file(record_path(store, key));
  if (!text) return std::nullopt;
  auto r = parse_record(*text);
  if (!r || r->reference != reference || r->platform != platform) return std::nullopt;
  return std::move(*r);
}

util::Result<std::vector<ImageRecord>> remove_image_records(const Store& store, const std::string& what) {
  auto all = ML_TRY(list_image_records(store));
  std::vector<ImageRecord> removed;
  for (auto& r : all) {
    if (r.reference != what && r.manifest_digest != what) continue;
    auto p = record_path(store, r);
    if (::unlink(p.c_str()) < 0 && errno != ENOENT) return util::sys_error("remove", p);
    removed.push_back(std::move(r));
  }
  if (!removed.empty()) ML_TRY(util::fsync_dir(store.images_dir()));
  return removed;
}

util::Result<GcReport> collect_garbage(const Store& store, DryRun dry_run) {
  FileLock lock = ML_TRY(store.lock_store(LockMode::Exclusive));
  auto records = ML_TRY(list_image_records(store));
  std::set<std::string> keep_blobs, keep_rootfs;
  for (const auto& r : records) {
    for (const auto& b : r.blobs)
      if (auto c = b.find(':'); c != std::string::npos) keep_blobs.insert(b.substr(c + 1));
    if (auto c = r.manifest_digest.find(':'); c != std::string::npos)
      keep_rootfs.insert(r.manifest_digest.substr(c + 1));
  }
  GcReport report;
  auto remove = [&](const std::filesystem::path& p, uint64_t& counter) -> util::Result<void> {
    uint64_t size = disk_size(p);
    if (dry_run == DryRun::No) {
      std::error_code ec;
      std::filesystem::remove_all(p, ec);
      if (ec) return make_error(ErrorCode::Io, "remove " + p.string() + ": " + ec.message());
    }
    ++counter;
    report.bytes_reclaimed += size;
    report.removed.push_back(std::filesystem::relative(p, store.root()).string());
    return util::ok();
  };
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(store.blobs_dir(), ec)) {
    std::string name = e.path().filename().string();
    if (keep_blobs.count(name)) continue;
    // Unverified leftovers (.partial, temp files) count as "other".
    ML_TRY(remove(e.path(), name.size() == 64 ? report.blobs_removed : report.other_removed));
  }
  for (const auto& e : std::filesystem::directory_iterator(store.rootfs_dir(), ec)) {
    std::string name = e.path().filename().string();
    std::string hex = name.substr(0, name.find('.'));
    if (keep_rootfs.count(hex)) continue;
    ML_TRY(remove(e.path(), name.ends_with(".ext4") ? report.rootfs_removed : report.other_removed));
  }
  // Leftover unpack dirs of interrupted archive pulls.
  for (const auto& e : std::filesystem::directory_iterator(store.root(), ec))
    if (e.path().filename().string().starts_with("unpack-")) ML_TRY(remove(e.path(), report.other_removed));
  if (ec) return make_error(ErrorCode::Io, "gc: " + ec.message());
  return report;
}

}  // namespace oci
