#include "backends/kernel_artifact.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"
#include "util/temp_dir.hpp"

namespace backends {

namespace fs = std::filesystem;
using util::ErrorCode;
using util::make_error;

namespace {

struct ArchiveWriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t append(archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

util::Result<std::string> tar_modules(const KernelBundle& b) {
  std::string out;
  std::unique_ptr<archive, ArchiveWriteFree> a(archive_write_new());
  archive_write_set_format_ustar(a.get());
  archive_write_set_bytes_per_block(a.get(), 512);
  if (archive_write_open(a.get(), &out, nullptr, append, nullptr) != ARCHIVE_OK)
    return make_error(ErrorCode::Internal, std::string("tar: ") + archive_error_string(a.get()));
  for (const auto& m : b.modules) {
    std::string data = ML_TRY(util::read_file(b.module_path(m)));
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), ("modules/" + m.file).c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(data.size()));
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK ||
        archive_write_data(a.get(), data.data(), data.size()) != static_cast<la_ssize_t>(data.size()))
      return make_error(ErrorCode::Internal, "tar " + m.file + ": " + archive_error_string(a.get()));
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return make_error(ErrorCode::Internal, std::string("tar: ") + archive_error_string(a.get()));
  return out;
}

}  // namespace

util::Result<KernelPayload> pack_kernel_bundle(const KernelBundle& b) {
  if (!util::path_exists(b.dir / "bundle.json"))
    return make_error(ErrorCode::Usage, b.dir.string() + ": not a kernel bundle directory (no bundle.json)");
  KernelPayload p;
  p.bundle_json = ML_TRY(util::read_file(b.dir / "bundle.json"));
  p.vmlinuz = ML_TRY(util::read_file(b.vmlinuz));
  p.modules_tar = ML_TRY(tar_modules(b));
  return p;
}

util::Result<KernelBundle> install_kernel_payload(const util::Dirs& dirs, const std::string& name,
                                                  const fs::path& vmlinuz, const fs::path& modules_tar,
                                                  const fs::path& bundle_json) {
  fs::path final_dir = kernels_dir(dirs) / name;
  if (util::path_exists(final_dir / "bundle.json")) return load_kernel_bundle(final_dir);
  std::string meta = ML_TRY(util::read_file(bundle_json));
  std::map<std::string, std::string> want;  // "vmlinuz" (arm64: "Image"), "modules/NN-x.ko" -> sha256 hex
  std::string image_name;                   // the kernel image's file (load_kernel_bundle checks the name)
  try {
    auto j = nlohmann::json::parse(meta);
    for (const auto& [k, v] : j.at("files").items()) want[k] = v.get<std::string>();
    image_name = j.value("kernel", "vmlinuz");
  } catch (const nlohmann::json::exception& e) {
    return make_error(ErrorCode::Integrity, std::string("kernel artifact bundle.json: ") + e.what());
  }
  ML_TRY(util::make_dirs(kernels_dir(dirs)));
  util::TempDir staging = ML_TRY(util::TempDir::create(kernels_dir(dirs), ".pull-"));
  ML_TRY(util::make_dirs(staging.path() / "modules"));
  auto place = [&](const std::string& rel, std::string_view data) -> util::Result<void> {
    auto it = want.find(rel);
    if (it == want.end())
      return make_error(ErrorCode::Integrity, "kernel artifact: " + rel + " is not listed in bundle.json");
    if (util::sha256_hex(data) != it->second)
      return make_error(ErrorCode::Integrity, "kernel artifact: " + rel + " does not match its sha256 in bundle.json");
    want.erase(it);
    return util::write_file_atomic(staging.path() / rel, data, 0644);
  };
  std::string kernel_image = ML_TRY(util::read_file(vmlinuz));
  if (image_name != "vmlinuz" && image_name != "Image")
    return make_error(ErrorCode::Integrity, "kernel artifact bundle.json: bad kernel file name \"" + image_name + "\"");
  ML_TRY(place(image_name, kernel_image));

  std::unique_ptr<archive, ArchiveReadFree> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), modules_tar.c_str(), 65536) != ARCHIVE_OK)
    return make_error(ErrorCode::Integrity, "kernel artifact modules: " + std::string(archive_error_string(a.get())));
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    std::string path = archive_entry_pathname(e);
    std::string file = path.substr(path.find('/') + 1);
    if (!path.starts_with("modules/") || file.empty() || file.find('/') != std::string::npos ||
        !file.ends_with(".ko") || archive_entry_filetype(e) != AE_IFREG || archive_entry_size(e) > (64 << 20))
      return make_error(ErrorCode::Integrity, "kernel artifact modules: unexpected entry \"" + path + "\"");
    std::string data(static_cast<size_t>(archive_entry_size(e)), '\0');
    if (archive_read_data(a.get(), data.data(), data.size()) != static_cast<la_ssize_t>(data.size()))
      return make_error(ErrorCode::Integrity, "kernel artifact modules: short read of " + path);
    ML_TRY(place(path, data));
  }
  if (rc != ARCHIVE_EOF)
    return make_error(ErrorCode::Integrity, "kernel artifact modules: " + std::string(archive_error_string(a.get())));
  if (!want.empty()) return make_error(ErrorCode::Integrity, "kernel artifact lacks " + want.begin()->first);
  ML_TRY(util::write_file_atomic(staging.path() / "bundle.json", meta, 0644));
  ::chmod(staging.path().c_str(), 0755);
  if (::rename(staging.path().c_str(), final_dir.c_str()) == 0) {
    staging.release();
  } else if (errno != EEXIST && errno != ENOTEMPTY) {
    return util::sys_error("rename", final_dir);
  }
  ML_TRY(util::fsync_dir(kernels_dir(dirs)));
  return load_kernel_bundle(final_dir);
}

}  // namespace backends
