#include "engine/kernel_ref.hpp"

#include "backends/kernel_artifact.hpp"
#include "oci/artifact.hpp"
#include "oci/digest.hpp"
#include "util/fs.hpp"

namespace engine {

util::Result<std::string> push_kernel(const util::Dirs& dirs, const oci::Reference& ref,
                                      const backends::KernelBundle& bundle) {
  auto payload = ML_TRY(backends::pack_kernel_bundle(bundle));
  oci::ArtifactPush a;
  a.artifact_type = backends::k_kernel_artifact_type;
  a.blobs.push_back({backends::k_kernel_vmlinuz_type, "vmlinuz", std::move(payload.vmlinuz)});
  a.blobs.push_back({backends::k_kernel_modules_type, "modules.tar", std::move(payload.modules_tar)});
  a.blobs.push_back({backends::k_kernel_metadata_type, "bundle.json", std::move(payload.bundle_json)});
  a.annotations["org.opencontainers.image.title"] = "matchlock kernel bundle";
  if (!bundle.release.empty()) a.annotations["vnd.matchlock.kernel.release"] = bundle.release;
  if (!bundle.package.empty()) a.annotations["vnd.matchlock.kernel.package"] = bundle.package + " " + bundle.version;
  return ML_TRY_CTX(oci::push_artifact(dirs, ref, a), "kernel push " + ref.to_string());
}

util::Result<backends::KernelBundle> kernel_from_reference(const util::Dirs& dirs, const oci::Reference& ref) {
  std::string what = "kernel " + ref.to_string();
  if (ref.kind != oci::ReferenceKind::Registry || ref.digest.empty())
    return util::make_error(
        util::ErrorCode::Config,
        what + ": a kernel reference needs a digest (REF@sha256:...; `matchlock kernel push` prints it)");
  oci::Digest d = ML_TRY_CTX(oci::parse_digest(ref.digest), what);
  std::string name = "oci-" + d.hex;
  auto dir = backends::kernels_dir(dirs) / name;
  if (util::path_exists(dir / "bundle.json")) return ML_TRY_CTX(backends::load_kernel_bundle(dir), what);
  auto pulled = ML_TRY_CTX(oci::pull_artifact(dirs, ref, backends::k_kernel_artifact_type), what);
  const auto* vmlinuz = pulled.find("vmlinuz");
  const auto* modules = pulled.find("modules.tar");
  const auto* meta = pulled.find("bundle.json");
  if (!vmlinuz || !modules || !meta)
    return util::make_error(util::ErrorCode::Integrity,
                            what + ": the artifact lacks vmlinuz, modules.tar or bundle.json");
  return ML_TRY_CTX(backends::install_kernel_payload(dirs, name, vmlinuz->blob, modules->blob, meta->blob), what);
}

util::Result<std::optional<backends::KernelBundle>> configured_kernel(const util::Dirs& dirs, const Kernel& kernel) {
  switch (kernel.kind) {
    case KernelKind::Default:
      return std::optional<backends::KernelBundle>();
    case KernelKind::Path:
      return std::optional<backends::KernelBundle>(ML_TRY(backends::kernel_bundle_from_path(kernel.path)));
    case KernelKind::Reference:
      return std::optional<backends::KernelBundle>(ML_TRY(kernel_from_reference(dirs, kernel.reference)));
  }
  return std::optional<backends::KernelBundle>();
}

util::Result<std::optional<LockedKernel>> lock_kernel_entry(const util::Dirs& dirs, const Kernel& kernel) {
  auto bundle = ML_TRY(configured_kernel(dirs, kernel));
  if (!bundle) return std::optional<LockedKernel>();
  std::string ref = kernel.kind == KernelKind::Reference ? kernel.reference.to_string() : kernel.text;
  return std::optional<LockedKernel>(LockedKernel{ref, bundle->digest});
}

util::Result<void> check_frozen_kernel(const util::Dirs& dirs, const Kernel& kernel, const Lockfile& lock,
                                       const std::filesystem::path& lock_path) {
  auto want = ML_TRY(lock_kernel_entry(dirs, kernel));
  if (want == lock.kernel) return util::ok();
  std::string what = !want ? "the default kernel" : "kernel " + want->reference + " (bundle " + want->bundle + ")";
  std::string locked =
      !lock.kernel ? "no kernel entry" : "kernel " + lock.kernel->reference + " (bundle " + lock.kernel->bundle + ")";
  return util::make_error(util::ErrorCode::Frozen, lock_path.string() + " pins " + locked +
                                                       ", but the Matchlockfile resolves to " + what +
                                                       "; run `matchlock lock`");
}

}  // namespace engine
