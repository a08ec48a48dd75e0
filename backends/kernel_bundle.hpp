// The guest kernel bundle: a distro kernel image plus the few modules the agent
// loads, cached under $XDG_CACHE_HOME/matchlock/kernels/<version>-<hash>/ with a
// bundle.json recording the package, its version, its architecture and every
// file's sha256. `kernels/current` is a symlink to the amd64 bundle `matchlock run`
// uses, `kernels/current-arm64` to the arm64 one.
//
// amd64 bundles keep Debian's bzImage as `vmlinuz`; arm64 bundles hold an
// uncompressed `Image` (what QEMU's virt machine and Virtualization.framework's
// VZLinuxBootLoader load), made from the package's vmlinuz (gunzipped when Debian
// ships it compressed; bookworm's cloud-arm64 vmlinuz is already an Image).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backends/guest_arch.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace backends {

// Modules the agent needs, in no particular order; their dependencies are added.
inline const std::vector<std::string> k_bundle_modules = {"virtio_mmio", "virtio_blk", "virtio_console", "virtio_net",
                                                          "overlay",     "fuse",       "virtiofs"};
// arm64: virtio-pci is the transport Virtualization.framework offers (QEMU's virt machine
// uses it too); vsock is VZ's host<->guest channel (backends/vz, later).
inline const std::vector<std::string> k_bundle_modules_arm64 = {
    "virtio_mmio", "virtio_pci", "virtio_blk", "virtio_console", "virtio_net",
    "overlay",     "fuse",       "virtiofs",   "vsock",          "vmw_vsock_virtio_transport"};
inline constexpr const char* k_default_kernel_package = "linux-image-cloud-amd64";

const std::vector<std::string>& bundle_modules(GuestArch arch);
// linux-image-cloud-amd64 / linux-image-cloud-arm64.
std::string default_kernel_package(GuestArch arch);
// "current" (amd64) or "current-arm64": the symlink under kernels/ naming the bundle in use.
std::string current_link_name(GuestArch arch);

struct KernelModule {
  std::string name;  // module name ("virtio_mmio")
  std::string file;  // file under <bundle>/modules, "NN-name.ko", NN = load position
};

struct KernelBundle {
  std::filesystem::path dir;
  std::filesystem::path vmlinuz;      // the kernel image: <dir>/vmlinuz (amd64) or <dir>/Image (arm64)
  GuestArch arch = GuestArch::Amd64;  // bundle.json "arch" (absent: amd64, as written before arm64)
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
  GuestArch arch = host_arch();
  std::string package;        // "": default_kernel_package(arch)
  std::filesystem::path deb;  // install from this .deb instead of `apt-get download` (its Architecture must be arch)
};

std::filesystem::path kernels_dir(const util::Dirs& dirs);

util::Result<KernelBundle> load_kernel_bundle(const std::filesystem::path& dir);
// The bundle current_link_name(arch) points to, if any.
util::Result<std::optional<KernelBundle>> installed_kernel_bundle(const util::Dirs& dirs, GuestArch arch = host_arch());
// Downloads (apt-get download PACKAGE:ARCH, nothing installed into /boot), extracts,
// records, makes it current for its architecture. A foreign architecture needs
// `dpkg --add-architecture arm64 && apt-get update` once (scripts/install-deps does it).
util::Result<KernelBundle> install_kernel_bundle(const util::Dirs& dirs, const KernelInstallOptions& options);
// The installed bundle, installing it first (with progress on stderr) when there is none.
// An installed Debian bundle that lacks a module of bundle_modules(arch) (made by an older
// matchlock) is replaced once; when that install fails (offline) the old one is used.
util::Result<KernelBundle> ensure_kernel_bundle(const util::Dirs& dirs, GuestArch arch = host_arch());
// [sandbox].kernel = PATH: a bundle directory (with bundle.json) or a bare kernel image
// whose drivers are built in (no modules; its arch is sniffed from its header, amd64 if unknown).
util::Result<KernelBundle> kernel_bundle_from_path(const std::filesystem::path& path);

}  // namespace backends
