// `matchlock kernel install|show|push`: the guest kernel bundle (backends/kernel_bundle.hpp).
#include <cstdio>

#include "backends/kernel_bundle.hpp"
#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/kernel_ref.hpp"
#include "oci/reference.hpp"

namespace cmd {

namespace {

void print_bundle(const backends::KernelBundle& b) {
  std::printf("package  %s %s\nrelease  %s\narch     %s\ndigest   %s\nkernel   %s\n", b.package.c_str(),
              b.version.c_str(), b.release.c_str(), backends::to_string(b.arch), b.digest.c_str(), b.vmlinuz.c_str());
  std::printf("modules ");
  for (const auto& m : b.modules) std::printf(" %s", m.name.c_str());
  std::printf("\n");
}

// --arch amd64|arm64 (aarch64, x86_64 accepted); "" is the host's.
util::Result<backends::GuestArch> parse_arch(const std::string& text) {
  if (text.empty()) return backends::host_arch();
  auto arch = backends::parse_guest_arch(text);
  if (!arch) return util::make_error(util::ErrorCode::Usage, "--arch " + text + ": expected amd64 or arm64");
  return *arch;
}

}  // namespace

void register_kernel(CLI::App& app, Context& ctx) {
  auto* kernel = app.add_subcommand("kernel", "Manage the guest kernel bundle");
  kernel->require_subcommand(1);

  auto* install =
      kernel->add_subcommand("install", "Fetch Debian's cloud kernel (apt-get download) and cache vmlinuz + modules");
  auto opts = std::make_shared<backends::KernelInstallOptions>();
  auto install_arch = std::make_shared<std::string>();
  install->add_option("--arch", *install_arch, "Guest architecture: amd64 or arm64 (default: the host's)")
      ->type_name("ARCH");
  install
      ->add_option("--package", opts->package,
                   "Debian package to fetch (default linux-image-cloud-ARCH; a meta package is followed)")
      ->type_name("PACKAGE");
  install->add_option("--deb", opts->deb, "Use this kernel .deb instead of downloading")->type_name(k_type_file);
  install->callback(verb_callback(ctx.exit_code, [&ctx, opts, install_arch]() -> util::Result<int> {
    auto r = [&]() -> util::Result<backends::KernelBundle> {
      opts->arch = ML_TRY(parse_arch(*install_arch));
      return backends::install_kernel_bundle(ctx.dirs, *opts);
    }();
    if (!r) return r.error();
    print_bundle(*r);
    return k_exit_ok;
  }));

  auto* push = kernel->add_subcommand(
      "push", "Publish the installed (or --bundle DIR) bundle as an OCI artifact; prints REF@DIGEST");
  auto push_ref = std::make_shared<std::string>();
  auto push_dir = std::make_shared<std::string>();
  auto push_arch = std::make_shared<std::string>();
  push->add_option("reference", *push_ref, "Registry reference to push to (a tag)")->required()->type_name("REF");
  push->add_option("--bundle", *push_dir, "Bundle directory to push instead of the installed one")
      ->type_name(k_type_dir);
  push->add_option("--arch", *push_arch, "Push the installed bundle of this architecture (default: the host's)")
      ->type_name("ARCH");
  push->callback(verb_callback(ctx.exit_code, [&ctx, push_ref, push_dir, push_arch]() -> util::Result<int> {
    auto r = [&]() -> util::Result<std::string> {
      oci::Reference ref = ML_TRY(oci::parse_reference(*push_ref));
      backends::KernelBundle bundle;
      if (!push_dir->empty()) {
        bundle = ML_TRY(backends::load_kernel_bundle(*push_dir));
      } else {
        auto arch = ML_TRY(parse_arch(*push_arch));
        auto installed = ML_TRY(backends::installed_kernel_bundle(ctx.dirs, arch));
        if (!installed)
          return util::make_error(util::ErrorCode::NotFound,
                                  std::string("no ") + backends::to_string(arch) +
                                      " kernel bundle installed (run `matchlock kernel install --arch " +
                                      backends::to_string(arch) + "`)");
        bundle = std::move(*installed);
      }
      std::string digest = ML_TRY(engine::push_kernel(ctx.dirs, ref, bundle));
      ref.tag.clear();
      ref.digest = digest;
      return ref.to_string();
    }();
    if (!r) return r.error();
    std::printf("%s\n", r->c_str());
    return k_exit_ok;
  }));

  auto* show = kernel->add_subcommand("show", "Print the installed bundle");
  auto show_arch = std::make_shared<std::string>();
  show->add_option("--arch", *show_arch, "Guest architecture: amd64 or arm64 (default: the host's)")->type_name("ARCH");
  show->callback(verb_callback(ctx.exit_code, [&ctx, show_arch]() -> util::Result<int> {
    auto r = [&]() -> util::Result<std::optional<backends::KernelBundle>> {
      return backends::installed_kernel_bundle(ctx.dirs, ML_TRY(parse_arch(*show_arch)));
    }();
    if (!r) return r.error();
    if (!*r) {
      std::fprintf(stderr,
                   "matchlock: no kernel bundle installed for this architecture (run `matchlock kernel install%s%s`)\n",
                   show_arch->empty() ? "" : " --arch ", show_arch->c_str());
      return 1;
    }
    print_bundle(**r);
    return k_exit_ok;
  }));
}

}  // namespace cmd
