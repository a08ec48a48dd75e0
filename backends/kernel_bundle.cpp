#include "backends/kernel_bundle.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "backends/deb_archive.hpp"
#include "backends/kernel_image.hpp"
#include "backends/module_info.hpp"
#include "util/atomic_file.hpp"
#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/process.hpp"
#include "util/sha256.hpp"
#include "util/temp_dir.hpp"

namespace backends {

namespace fs = std::filesystem;

namespace {

constexpr int k_bundle_format = 1;

util::Error bundle_error(const fs::path& dir, const std::string& why) {
  return util::make_error(util::ErrorCode::Integrity, "kernel bundle " + dir.string() + ": " + why);
}

std::string module_name_from_path(const std::string& path) {
  std::string stem = fs::path(path).stem().string();
  for (char& c : stem)
    if (c == '-') c = '_';
  return stem;
}

// The kernel image's file name in a bundle of ARCH.
const char* image_file(GuestArch arch) { return arch == GuestArch::Arm64 ? "Image" : "vmlinuz"; }

// Runs `apt-get download PACKAGE:ARCH` in DIR; returns the .deb it fetched.
util::Result<fs::path> apt_download(const fs::path& dir, const std::string& package_name, GuestArch arch) {
  const std::string package = package_name + ":" + to_string(arch);
  auto apt = util::find_program("apt-get");
  if (apt.empty())
    return util::make_error(util::ErrorCode::NotFound,
                            "apt-get not found (a Debian host is needed to fetch the kernel; or pass --deb FILE)");
  std::error_code ec;
  std::set<fs::path> before;
  for (const auto& e : fs::directory_iterator(dir, ec)) before.insert(e.path());
  auto log_path = dir / ("apt-" + package + ".log");
  util::Fd log = ML_TRY(util::open_fd(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  util::SpawnOptions o;
  o.argv = {apt.string(), "download", "-q", package};
  o.cwd = dir;
  o.stdout_fd = log.get();
  o.stderr_fd = log.get();
  o.stdin_fd = ML_TRY(util::open_fd("/dev/null", O_RDONLY)).release();
  util::Fd devnull(o.stdin_fd);
  util::Child child = ML_TRY_CTX(util::Child::spawn(o), "apt-get download " + package);
  auto status = ML_TRY(child.wait());
  if (status.code != 0 || status.signal != 0) {
    std::string text = util::read_file(log_path).has_value() ? *util::read_file(log_path) : "";
    std::string hint = arch == host_arch()
                           ? ""
                           : std::string(" (a foreign architecture needs `dpkg --add-architecture ") + to_string(arch) +
                                 " && apt-get update` once; scripts/install-deps does it)";
    return util::make_error(util::ErrorCode::Network,
                            "apt-get download " + package + " " + status.describe() + ": " + text + hint);
  }
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (!before.count(e.path()) && e.path().extension() == ".deb") return e.path();
  return util::make_error(util::ErrorCode::NotFound, "apt-get download " + package + " produced no .deb");
}

// The "linux-image-..." package a meta package depends on, or "" when DEB is not a meta package.
util::Result<std::string> meta_target(const fs::path& deb) {
  std::string depends = ML_TRY(deb_control_field(deb, "Depends"));
  size_t pos = 0;
  while (pos < depends.size()) {
    size_t end = depends.find(',', pos);
    if (end == std::string::npos) end = depends.size();
    std::string item = depends.substr(pos, end - pos);
    item.erase(0, item.find_first_not_of(' '));
    std::string name = item.substr(0, item.find_first_of(" (|"));
    if (name.rfind("linux-image-", 0) == 0) return name;
    pos = end + 1;
  }
  return std::string{};
}

struct Extracted {
  std::string release;
  std::map<std::string, std::vector<std::string>> depends;  // every module in the package
};

// Pass 1: learn every module's dependencies and the kernel release.
util::Result<Extracted> scan_modules(const fs::path& deb) {
  Extracted x;
  auto visit = [&](const DebEntry& e, const DebContents& contents) -> util::Result<void> {
    if (!e.regular || e.path.rfind("lib/modules/", 0) != 0 || fs::path(e.path).extension() != ".ko") return util::ok();
    std::string data = ML_TRY(contents());
    auto info = ML_TRY_CTX(parse_module_info(data), e.path);
    std::string name = info.name.empty() ? module_name_from_path(e.path) : info.name;
    x.depends[name] = info.depends;
    if (x.release.empty()) x.release = info.vermagic.substr(0, info.vermagic.find(' '));
    return util::ok();
  };
  ML_TRY(for_each_deb_entry(deb, DebMember::Data, visit));
  return x;
}

// Pass 2: copy the kernel image (arm64: as an uncompressed Image) and the chosen modules into DIR.
util::Result<void> extract_files(const fs::path& deb, GuestArch arch, const fs::path& dir,
                                 const std::map<std::string, std::string>& module_files, nlohmann::json& manifest) {
  bool have_kernel = false;
  ML_TRY(util::make_dirs(dir / "modules"));
  auto visit = [&](const DebEntry& e, const DebContents& contents) -> util::Result<void> {
    if (!e.regular) return util::ok();
    fs::path target;
    bool kernel = e.path.rfind("boot/vmlinuz-", 0) == 0;
    if (kernel) {
      target = dir / image_file(arch);
      have_kernel = true;
    } else if (e.path.rfind("lib/modules/", 0) == 0 && fs::path(e.path).extension() == ".ko") {
      auto it = module_files.find(module_name_from_path(e.path));
      if (it == module_files.end()) return util::ok();
      target = dir / "modules" / it->second;
    } else {
      return util::ok();
    }
    std::string data = ML_TRY(contents());
    if (kernel && arch == GuestArch::Arm64)
      data = ML_TRY(arm64_image(std::move(data), deb.filename().string() + ":" + e.path));
    ML_TRY(util::write_file_atomic(target, data, 0644));
    manifest["files"][fs::relative(target, dir).string()] = util::sha256_hex(data);
    return util::ok();
  };
  ML_TRY(for_each_deb_entry(deb, DebMember::Data, visit));
  if (!have_kernel)
    return util::make_error(util::ErrorCode::NotFound, deb.string() + ": no boot/vmlinuz-* in the package");
  return util::ok();
}

util::Result<void> point_current(const util::Dirs& dirs, GuestArch arch, const std::string& name) {
  fs::path current = kernels_dir(dirs) / current_link_name(arch);
  fs::path tmp = kernels_dir(dirs) / (".current-" + std::to_string(::getpid()));
  ::unlink(tmp.c_str());
  if (::symlink(name.c_str(), tmp.c_str()) < 0) return util::sys_error("symlink", tmp);
  if (::rename(tmp.c_str(), current.c_str()) < 0) {
    auto err = util::sys_error("rename", current);
    ::unlink(tmp.c_str());
    return err;
  }
  return util::fsync_dir(kernels_dir(dirs));
}

util::Result<KernelBundle> install_from_deb(const util::Dirs& dirs, const fs::path& deb, GuestArch arch) {
  std::string package = ML_TRY(deb_control_field(deb, "Package"));
  std::string version = ML_TRY(deb_control_field(deb, "Version"));
  std::string deb_arch = ML_TRY(deb_control_field(deb, "Architecture"));
  if (parse_guest_arch(deb_arch) != arch)
    return util::make_error(util::ErrorCode::Usage,
                            deb.string() + " is a kernel for " + deb_arch + ", not " + to_string(arch));
  std::string deb_sha = ML_TRY(util::sha256_file(deb));
  util::log::info("kernel: reading modules of " + package + " " + version);
  Extracted x = ML_TRY(scan_modules(deb));
  auto order = ML_TRY_CTX(module_load_order(bundle_modules(arch), x.depends), package);
  std::map<std::string, std::string> files;
  nlohmann::json modules = nlohmann::json::array();
  for (size_t i = 0; i < order.size(); ++i) {
    char prefix[32];
    std::snprintf(prefix, sizeof prefix, "%02zu-", i + 1);
    files[order[i]] = prefix + order[i] + ".ko";
    modules.push_back({{"name", order[i]}, {"file", files[order[i]]}});
  }
  nlohmann::json manifest = {
      {"format", k_bundle_format}, {"package", package},         {"version", version},
      {"release", x.release},      {"deb_sha256", deb_sha},      {"modules", modules},
      {"arch", to_string(arch)},   {"kernel", image_file(arch)}, {"files", nlohmann::json::object()}};
  util::TempDir staging = ML_TRY(util::TempDir::create(kernels_dir(dirs), ".bundle-"));
  ML_TRY(extract_files(deb, arch, staging.path(), files, manifest));
  ML_TRY(util::write_file_atomic(staging.path() / "bundle.json", manifest.dump(2) + "\n"));
  ::chmod(staging.path().c_str(), 0755);
  // The name covers the module set too: a matchlock that needs another
  // module installs a new bundle beside the old one.
  std::string wanted;
  for (const auto& m : order) wanted += m + "\n";
  std::string name = version + "-" + util::sha256_hex(deb_sha + "\n" + wanted).substr(0, 12);
  fs::path final_dir = kernels_dir(dirs) / name;
  if (!util::path_exists(final_dir)) {
    if (::rename(staging.path().c_str(), final_dir.c_str()) < 0 && errno != EEXIST && errno != ENOTEMPTY)
      return util::sys_error("rename", final_dir);
    staging.release();
  }
  ML_TRY(point_current(dirs, arch, name));
  return load_kernel_bundle(final_dir);
}

}  // namespace

fs::path kernels_dir(const util::Dirs& dirs) { return dirs.cache / "kernels"; }

const std::vector<std::string>& bundle_modules(GuestArch arch) {
  return arch == GuestArch::Arm64 ? k_bundle_modules_arm64 : k_bundle_modules;
}

std::string default_kernel_package(GuestArch arch) {
  return arch == GuestArch::Arm64 ? "linux-image-cloud-arm64" : k_default_kernel_package;
}

std::string current_link_name(GuestArch arch) {
  return arch == GuestArch::Amd64 ? "current" : std::string("current-") + to_string(arch);
}

util::Result<KernelBundle> load_kernel_bundle(const fs::path& dir) {
  std::string text = ML_TRY_CTX(util::read_file(dir / "bundle.json"), "kernel bundle");
  KernelBundle b;
  b.dir = dir;
  b.digest = "sha256:" + util::sha256_hex(text);
  try {
    auto j = nlohmann::json::parse(text);
    if (j.value("format", 0) != k_bundle_format) return bundle_error(dir, "unsupported format");
    std::string arch = j.value("arch", "amd64");
    auto parsed = parse_guest_arch(arch);
    if (!parsed || arch != to_string(*parsed)) return bundle_error(dir, "unknown arch \"" + arch + "\"");
    b.arch = *parsed;
    std::string image = j.value("kernel", "vmlinuz");
    if (image != "vmlinuz" && image != "Image") return bundle_error(dir, "bad kernel file name \"" + image + "\"");
    b.vmlinuz = dir / image;
    b.package = j.value("package", "");
    b.version = j.value("version", "");
    b.release = j.value("release", "");
    for (const auto& m : j.at("modules"))
      b.modules.push_back({m.at("name").get<std::string>(), m.at("file").get<std::string>()});
  } catch (const nlohmann::json::exception& e) {
    return bundle_error(dir, std::string("bundle.json: ") + e.what());
  }
  for (const auto& m : b.modules) {
    if (m.file.find('/') != std::string::npos) return bundle_error(dir, "bad module file name " + m.file);
    if (!util::path_exists(b.module_path(m))) return bundle_error(dir, "missing modules/" + m.file);
  }
  if (!util::path_exists(b.vmlinuz)) return bundle_error(dir, "missing " + b.vmlinuz.filename().string());
  return b;
}

util::Result<std::optional<KernelBundle>> installed_kernel_bundle(const util::Dirs& dirs, GuestArch arch) {
  fs::path current = kernels_dir(dirs) / current_link_name(arch);
  if (!util::path_exists(current)) return std::optional<KernelBundle>{};
  std::error_code ec;
  fs::path target = fs::canonical(current, ec);
  if (ec) return std::optional<KernelBundle>{};
  KernelBundle b = ML_TRY(load_kernel_bundle(target));
  if (b.arch != arch)
    return bundle_error(target, std::string("is ") + to_string(b.arch) + ", but " + current.string() + " names the " +
                                    to_string(arch) + " bundle");
  return std::optional<KernelBundle>(std::move(b));
}

util::Result<KernelBundle> install_kernel_bundle(const util::Dirs& dirs, const KernelInstallOptions& options) {
  ML_TRY(util::make_dirs(kernels_dir(dirs)));
  util::TempDir work = ML_TRY(util::TempDir::create(kernels_dir(dirs), ".download-"));
  fs::path deb = options.deb;
  std::string package = options.package.empty() ? default_kernel_package(options.arch) : options.package;
  if (deb.empty()) {
    util::log::info("kernel: downloading " + package + ":" + to_string(options.arch) + " (apt-get download)");
    deb = ML_TRY(apt_download(work.path(), package, options.arch));
  }
  std::string target = ML_TRY(meta_target(deb));
  if (!target.empty()) {
    if (!options.deb.empty())
      return util::make_error(util::ErrorCode::Usage, deb.string() + " is a meta package (depends on " + target +
                                                          "); pass the kernel's own .deb");
    util::log::info("kernel: downloading " + target);
    deb = ML_TRY(apt_download(work.path(), target, options.arch));
  }
  auto bundle = ML_TRY_CTX(install_from_deb(dirs, deb, options.arch), "kernel install");
  util::log::info("kernel: installed " + bundle.package + " " + bundle.version + " (" + bundle.release + ", " +
                  to_string(bundle.arch) + ", " + std::to_string(bundle.modules.size()) + " modules) in " +
                  bundle.dir.string());
  return bundle;
}

util::Result<KernelBundle> ensure_kernel_bundle(const util::Dirs& dirs, GuestArch arch) {
  KernelInstallOptions install;
  install.arch = arch;
  auto installed = ML_TRY(installed_kernel_bundle(dirs, arch));
  if (installed) {
    std::string missing;
    for (const auto& want : bundle_modules(arch))
      if (!installed->has_module(want)) missing += (missing.empty() ? "" : ", ") + want;
    if (missing.empty() || installed->package.empty()) return std::move(*installed);
    util::log::info("kernel: the installed bundle lacks " + missing + "; installing a new one (once)");
    auto fresh = install_kernel_bundle(dirs, install);
    if (fresh) return fresh;
    // Offline, say: the old bundle still boots (shares then use the FUSE channel).
    util::log::warn("kernel: " + fresh.error().message() + "; keeping " + installed->dir.string() + " (without " +
                    missing + ")");
    return std::move(*installed);
  }
  util::log::info(std::string("kernel: no ") + to_string(arch) + " guest kernel bundle yet, installing one (once)");
  return install_kernel_bundle(dirs, install);
}

util::Result<KernelBundle> kernel_bundle_from_path(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return load_kernel_bundle(path);
  if (!fs::is_regular_file(path, ec))
    return util::make_error(util::ErrorCode::NotFound, "kernel " + path.string() + ": not found");
  KernelBundle b;
  b.dir = path.parent_path();
  b.vmlinuz = path;
  b.digest = "sha256:" + ML_TRY(util::sha256_file(path));
  util::Fd fd = ML_TRY(util::open_fd(path, O_RDONLY));
  std::string head(0x400, '\0');
  ssize_t n = util::retry_eintr([&] { return ::pread(fd.get(), head.data(), head.size(), 0); });
  if (n < 0) return util::sys_error("read", path);
  head.resize(static_cast<size_t>(n));
  b.arch = sniff_kernel_image(head).value_or(GuestArch::Amd64);
  return b;
}

}  // namespace backends
