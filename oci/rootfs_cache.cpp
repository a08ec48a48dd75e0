// ensure_rootfs: the rootfs cache. One image per manifest digest under
// DIRS.cache/rootfs, published atomically; builds are serialised by an
// exclusive flock on the cache directory itself, so no lock file is left.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "oci/digest.hpp"
#include "oci/rootfs.hpp"
#include "util/atomic_file.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace oci {

using util::ErrorCode;
using util::Result;

namespace {

// Bumped whenever the builder's output changes for the same input.
constexpr int k_builder_version = 2;

std::optional<Rootfs> cached(const std::filesystem::path& image, const std::filesystem::path& sidecar) {
  auto text = util::read_file(sidecar);
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto builder = j.find("builder");
  auto sha = j.find("sha256");
  auto size = j.find("size_bytes");
  if (builder == j.end() || !builder->is_number_integer() || builder->get<int>() != k_builder_version ||
      sha == j.end() || !sha->is_string() || size == j.end() || !size->is_number_unsigned())
    return std::nullopt;
  struct stat st {};
  if (::stat(image.c_str(), &st) < 0 || static_cast<uint64_t>(st.st_size) != size->get<uint64_t>()) return std::nullopt;
  return Rootfs{image, sha->get<std::string>(), size->get<uint64_t>()};
}

// Temp files of builds that died: the lock covers the whole directory, so
// while we hold it no build is in progress.
void remove_stale_temps(const std::filesystem::path& dir) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.find(".ext4.tmp-") != std::string::npos || name.find(".json.tmp-") != std::string::npos) {
      util::log::debug("rootfs: removing stale " + it->path().string());
      ::unlink(it->path().c_str());
    }
  }
}

}  // namespace

Result<std::filesystem::path> rootfs_cache_path(const util::Dirs& dirs, std::string_view manifest_digest) {
  Digest digest = ML_TRY_CTX(parse_digest(manifest_digest), "rootfs");
  return dirs.cache / "rootfs" / (digest.hex + ".ext4");
}

Result<Rootfs> ensure_rootfs(const util::Dirs& dirs, std::string_view manifest_digest,
                             const std::vector<RootfsLayer>& layers, const RootfsOptions& options) {
  Digest digest = ML_TRY_CTX(parse_digest(manifest_digest), "rootfs");
  std::filesystem::path dir = dirs.cache / "rootfs";
  ML_TRY(util::make_dirs(dir, 0755));
  std::filesystem::path image = dir / (digest.hex + ".ext4");
  std::filesystem::path sidecar = dir / (digest.hex + ".json");
  if (auto hit = cached(image, sidecar)) return *hit;

  util::Fd lock = ML_TRY(util::open_fd(dir, O_RDONLY | O_DIRECTORY));
  if (util::retry_eintr([&] { return ::flock(lock.get(), LOCK_EX); }) < 0) return util::sys_error("flock", dir);
  if (auto hit = cached(image, sidecar)) return *hit;  // built by someone else meanwhile
  remove_stale_temps(dir);
  if (options.on_build) options.on_build();

  Rootfs built = ML_TRY_CTX(build_rootfs(layers, manifest_digest, image, options), "rootfs " + digest.to_string());
  nlohmann::json j = {{"builder", k_builder_version},
                      {"manifest_digest", digest.to_string()},
                      {"sha256", built.sha256},
                      {"size_bytes", built.size_bytes}};
  if (auto r = util::write_file_atomic(sidecar, j.dump(2) + "\n"); !r) {
    ::unlink(image.c_str());
    return std::move(r).error().context("rootfs " + digest.to_string());
  }
  return built;
}

}  // namespace oci
