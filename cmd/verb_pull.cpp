// `matchlock pull [REF] [--platform P] [--json] [--frozen]`: fetch and verify
// an image (default: the Matchlockfile's), then build its rootfs.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cmd/exit_code.hpp"
#include "cmd/image_target.hpp"
#include "cmd/verbs.hpp"
#include "engine/config_parse.hpp"
#include "engine/image_pull.hpp"
#include "engine/kernel_ref.hpp"
#include "oci/local_resolve.hpp"

namespace cmd {

namespace {

struct PullArgs {
  std::string reference, platform, pull = "always";
  bool json = false, frozen = false, no_rootfs = false;
};

util::Result<void> run_pull(Context& ctx, const PullArgs& args) {
  oci::PullPolicy policy = ML_TRY(oci::parse_pull_policy(args.pull));
  ImageTarget target =
      ML_TRY(resolve_image_target(ctx, args.reference, args.platform, args.frozen ? NeedConfig::Yes : NeedConfig::No));
  std::optional<engine::LockedImage> pin;
  if (args.frozen) {
    auto lock = ML_TRY(engine::Lockfile::load(target.lock_path));
    pin =
        ML_TRY(engine::frozen_entry(lock, target.lock_path, target.reference.to_string(), target.platform.to_string()));
    engine::Config config = ML_TRY(engine::load_config(target.matchlockfile));
    ML_TRY(engine::check_frozen_kernel(ctx.dirs, config.sandbox.kernel, *lock, target.lock_path));
  }
  auto progress = oci::make_progress(args.json   ? oci::ProgressStyle::Json
                                     : ctx.quiet ? oci::ProgressStyle::None
                                                 : oci::ProgressStyle::Auto,
                                     args.json ? stdout : stderr);
  engine::ImagePullOptions opts;
  opts.platform = target.platform;
  opts.progress = progress.get();
  opts.frozen = pin ? &*pin : nullptr;
  opts.policy = policy;
  opts.build_rootfs = args.no_rootfs ? engine::BuildRootfs::No : engine::BuildRootfs::Yes;
  engine::ImagePull pulled = ML_TRY(engine::pull_with_rootfs(ctx.dirs, target.reference, opts));
  engine::LockedImage e = engine::lock_entry(pulled);
  if (args.json) {
    nlohmann::json j = {{"event", "done"},
                        {"reference", e.reference},
                        {"platform", e.platform},
                        {"source", pulled.image.source},
                        {"index", e.index_digest},
                        {"manifest", e.manifest_digest},
                        {"config", e.config_digest},
                        {"rootfs_sha256", e.rootfs_sha256},
                        {"rootfs", pulled.rootfs ? pulled.rootfs->path.string() : std::string()}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf("%s\n", e.manifest_digest.c_str());
    if (pulled.rootfs) std::printf("%s\n", pulled.rootfs->path.c_str());
  }
  return util::ok();
}

}  // namespace

void register_pull(CLI::App& app, Context& ctx) {
  auto* sub =
      app.add_subcommand("pull", "Fetch and verify an image (default: the Matchlockfile's) and build its rootfs");
  auto args = std::make_shared<PullArgs>();
  sub->add_option("reference", args->reference,
                  "Image reference (registry, oci-layout:DIR, oci-archive:FILE, docker-archive:FILE)")
      ->type_name("REF");
  sub->add_option("--platform", args->platform, "OS/ARCH[/VARIANT] (default: the Matchlockfile's, else the host's)")
      ->type_name("OS/ARCH");
  sub->add_flag("--json", args->json, "Progress and result as JSON lines on stdout");
  sub->add_flag("--frozen", args->frozen,
                "Pull exactly what Matchlockfile.lock pins; fail (exit 3) if it is missing or stale");
  sub->add_option(
         "--pull", args->pull,
         "always (default): re-check a tag at the registry; missing: use the cached image; never: fail when not cached")
      ->type_name("always|missing|never");
  sub->add_flag("--no-rootfs", args->no_rootfs, "Stop after the blobs are in the store");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, args]() -> util::Result<int> {
    auto r = run_pull(ctx, *args);
    if (!r) return r.error();
    return k_exit_ok;
  }));
}

}  // namespace cmd
