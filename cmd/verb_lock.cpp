// `matchlock lock [--platform P]...`: resolve the Matchlockfile's image for
// each platform (and a REF or path kernel) and write Matchlockfile.lock beside it.
#include <cstdio>

#include "cmd/exit_code.hpp"
#include "cmd/image_target.hpp"
#include "cmd/verbs.hpp"
#include "engine/config_parse.hpp"
#include "engine/image_pull.hpp"
#include "engine/kernel_ref.hpp"

namespace cmd {

namespace {

util::Result<void> run_lock(Context& ctx, const std::vector<std::string>& platforms) {
  std::vector<std::string> wanted = platforms.empty() ? std::vector<std::string>{""} : platforms;
  ImageTarget base = ML_TRY(resolve_image_target(ctx, "", "", NeedConfig::Yes));
  auto existing = ML_TRY(engine::Lockfile::load(base.lock_path));
  engine::Lockfile lock = existing ? *existing : engine::Lockfile{};
  std::filesystem::path lock_path;
  auto progress = oci::make_progress(ctx.quiet ? oci::ProgressStyle::None : oci::ProgressStyle::Auto, stderr);
  bool first = true;
  for (const auto& p : wanted) {
    ImageTarget t = ML_TRY(resolve_image_target(ctx, "", p, NeedConfig::Yes));
    lock_path = t.lock_path;
    if (first) lock.retain_reference(t.reference.to_string());  // the Matchlockfile's image changed: drop stale pins
    first = false;
    engine::ImagePullOptions opts;
    opts.platform = t.platform;
    opts.progress = progress.get();
    engine::ImagePull pulled = ML_TRY(engine::pull_with_rootfs(ctx.dirs, t.reference, opts));
    lock.upsert(engine::lock_entry(pulled));
  }
  engine::Config config = ML_TRY(engine::load_config(base.matchlockfile));
  lock.kernel = ML_TRY(engine::lock_kernel_entry(ctx.dirs, config.sandbox.kernel));
  ML_TRY(lock.save(lock_path));
  if (!ctx.quiet) std::fprintf(stderr, "wrote %s\n", lock_path.c_str());
  return util::ok();
}

}  // namespace

void register_lock(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("lock", "Resolve the Matchlockfile's image and write Matchlockfile.lock");
  auto platforms = std::make_shared<std::vector<std::string>>();
  sub->add_option("--platform", *platforms,
                  "Lock for this platform (repeatable; default: the Matchlockfile's or the host's)")
      ->type_name("OS/ARCH");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, platforms]() -> util::Result<int> {
    auto r = run_lock(ctx, *platforms);
    if (!r) return r.error();
    return k_exit_ok;
  }));
}

}  // namespace cmd
