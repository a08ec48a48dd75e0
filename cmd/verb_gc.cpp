// `matchlock gc [--dry-run] [--json]`: delete blobs and rootfs images no
// pulled image references (kernels are kept) and unused cached task layers.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/layer_store.hpp"
#include "engine/memory_snapshot_store.hpp"
#include "engine/volumes.hpp"
#include "oci/image_records.hpp"

namespace cmd {

namespace {

util::Result<void> run_gc(Context& ctx, bool dry_run, bool json, bool volumes_too) {
  oci::Store store = ML_TRY(oci::Store::open(ctx.dirs));
  auto report = ML_TRY(oci::collect_garbage(store, dry_run ? oci::DryRun::Yes : oci::DryRun::No));
  // Cached task layers: see engine/layer_store.hpp for which ones are kept.
  auto layers = ML_TRY(engine::collect_layers(ctx.dirs, dry_run ? oci::DryRun::Yes : oci::DryRun::No));
  report.bytes_reclaimed += layers.bytes_reclaimed;
  for (const auto& p : layers.paths) report.removed.push_back(std::filesystem::relative(p, store.root()).string());
  // Memory snapshots: the newest per Matchlockfile stays (engine/memory_snapshot_store.hpp).
  auto snapshots = ML_TRY(engine::collect_memory_snapshots(ctx.dirs, dry_run ? oci::DryRun::Yes : oci::DryRun::No));
  report.bytes_reclaimed += snapshots.bytes_reclaimed;
  for (const auto& p : snapshots.paths) report.removed.push_back(std::filesystem::relative(p, store.root()).string());
  // Named volumes are data, not cache: counted, removed only with --volumes and only when orphaned.
  auto volumes = ML_TRY(
      engine::collect_volumes(ctx.dirs, volumes_too ? engine::GcVolumes::RemoveOrphaned : engine::GcVolumes::Count,
                              dry_run ? oci::DryRun::Yes : oci::DryRun::No));
  report.bytes_reclaimed += volumes.bytes_reclaimed;
  for (const auto& p : volumes.paths) report.removed.push_back(p);
  if (json) {
    nlohmann::json j = {
        {"dry_run", dry_run},
        {"blobs", report.blobs_removed},
        {"rootfs", report.rootfs_removed},
        {"layers", layers.removed},
        {"snapshots", snapshots.removed},
        {"volumes", {{"removed", volumes.removed}, {"kept", volumes.count}, {"kept_bytes", volumes.bytes}}},
        {"other", report.other_removed},
        {"bytes", report.bytes_reclaimed},
        {"removed", report.removed}};
    std::printf("%s\n", j.dump(2).c_str());
    return util::ok();
  }
  if (ctx.verbose)
    for (const auto& p : report.removed) std::printf("%s %s\n", dry_run ? "would remove" : "removed", p.c_str());
  std::printf("%s %llu blobs, %llu rootfs images, %llu task layers, %llu memory snapshots, %llu other files: %.1f MB\n",
              dry_run ? "would reclaim" : "reclaimed", (unsigned long long)report.blobs_removed,
              (unsigned long long)report.rootfs_removed, (unsigned long long)layers.removed,
              (unsigned long long)snapshots.removed, (unsigned long long)report.other_removed,
              double(report.bytes_reclaimed) / 1e6);
  if (volumes.removed)
    std::printf("%s %llu orphaned volumes\n", dry_run ? "would remove" : "removed",
                (unsigned long long)volumes.removed);
  if (volumes.count)
    std::printf("kept %llu volumes: %.1f MB (matchlock volume ls; gc --volumes removes orphaned ones)\n",
                (unsigned long long)volumes.count, double(volumes.bytes) / 1e6);
  return util::ok();
}

}  // namespace

void register_gc(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("gc", "Delete cached blobs and rootfs images that no pulled image uses");
  auto dry = std::make_shared<bool>(false), json = std::make_shared<bool>(false);
  sub->add_flag("--dry-run", *dry, "Only report what would be removed");
  auto volumes = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "Print one JSON object");
  sub->add_flag("--volumes", *volumes,
                "Also remove orphaned named volumes (their Matchlockfile is gone or no longer mounts them)");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, dry, json, volumes]() -> util::Result<int> {
    auto r = run_gc(ctx, *dry, *json, *volumes);
    if (!r) return r.error();
    return k_exit_ok;
  }));
}

}  // namespace cmd
