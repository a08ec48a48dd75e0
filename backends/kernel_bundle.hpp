// The guest kernel bundle: a distro kernel image plus the few modules the agent
// loads, cached under $XDG_CACHE_HOME/matchlock/kernels/<version>-<hash>/ with a
// bundle.json recording the package, its version and every file's sha256.
// `kernels/current` is a symlink to the bundle `matchlock run` uses.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"
#include "util/xdg.hpp"

namespace backends {

// Modules the agent needs, in no particular order; their dependencies are added.
inline const std::vector<std::string> k_bundle_modules = {"virtio_mmio", "virtio_blk", "virtio_console",
                                                          "virtio_net",  "overlay",    "fuse",
                                                          "virtiofs"};
inline constexpr const char* k_default_kernel_package = "linux-image-cloud-amd64";

struct KernelModule {
  std::string name;  // module name ("virtio_mmio")
  std::string file;  // file under <bundle>/modules, "NN-name.ko", NN = load position
};

struct KernelBundle {
  std::filesystem::path dir;
  std::filesystem::path vmlinuz;
  std::vector<KernelModule> modules;  // load order: dependencies first
  std::string package;                // Debian package the files came from ("" for a bare kernel)
  std::string version;                // its version
  std::string release;                // kernel release (uname -r)
  std::string digest;                 // "sha256:<hex of bundle.json>" (bare kernel: of the image)

  std::filesystem::path module_path(const KernelModule& m) const { return dir / "modules" / m.file; }
  bool has_module(std::string_view name) const {
    for (const auto& m : modules)
      if (m.name == name) return true;
    return false;
  }
};

struct KernelInstallOptions {
  std::string package = k_default_kernel_package;
  std::filesystem::path deb;  // install from this .deb instead of `apt-get download`
};

std::filesystem::path kernels_dir(const util::Dirs& dirs);

util::Result<KernelBundle> load_kernel_bundle(const std::filesystem::path& dir);
// The bundle `current` points to, if any.
util::Result<std::optional<KernelBundle>> installed_kernel_bundle(const util::Dirs& dirs);
// Downloads (apt-get download, nothing installed into /boot), extracts, records, makes current.
util::Result<KernelBundle> install_kernel_bundle(const util::Dirs& dirs, const KernelInstallOptions& options);
// The installed bundle, installing it first (with progress on stderr) when there is none.
// An installed Debian bundle that lacks a module of k_bundle_modules (made by an older
// matchlock) is replaced once; when that install fails (offline) the old one is used.
util::Result<KernelBundle> ensure_kernel_bundle(const util::Dirs& dirs);
// [sandbox].kernel = PATH: a bundle directory (with bundle.json) or a bare kernel image
// whose drivers are built in (no modules).
util::Result<KernelBundle> kernel_bundle_from_path(const std::filesystem::path& path);

}  // namespace backends
