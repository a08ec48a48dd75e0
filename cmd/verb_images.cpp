// `matchlock images [--json]`: pulled images, their digests, size and where
// they really came from.
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/memory_snapshot_store.hpp"
#include "oci/image_records.hpp"

namespace cmd {

namespace {

std::string short_hex(const std::string& digest) {
  auto c = digest.find(':');
  return digest.substr(c == std::string::npos ? 0 : c + 1, 12);
}

std::string mb(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", double(bytes) / 1e6);
  return buf;
}

util::Result<void> run_images(Context& ctx, bool json) {
  oci::Store store = ML_TRY(oci::Store::open(ctx.dirs));
  auto records = ML_TRY(oci::list_image_records(store));
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : records)
      out.push_back({{"reference", r.reference},
                     {"platform", r.platform},
                     {"source", r.source},
                     {"index", r.index_digest},
                     {"manifest", r.manifest_digest},
                     {"config", r.config_digest},
                     {"size", r.size},
                     {"pulled_at", r.pulled_at}});
    std::printf("%s\n", out.dump(2).c_str());
    return util::ok();
  }
  std::printf("%-50s %-14s %-12s %10s  %s\n", "REFERENCE", "PLATFORM", "MANIFEST", "SIZE", "SOURCE");
  for (const auto& r : records)
    std::printf("%-50s %-14s %-12s %10s  %s\n", r.reference.c_str(), r.platform.c_str(),
                short_hex(r.manifest_digest).c_str(), mb(r.size).c_str(), r.source.c_str());
  // Memory snapshots (the booted state of an image and its cached task layers), when there are any.
  auto snapshots = engine::list_memory_snapshots(ctx.dirs);
  if (!snapshots.empty()) {
    std::printf("\n%-14s %10s  %s\n", "MEMORY SNAPSHOT", "SIZE", "SAVED BY");
    for (const auto& s : snapshots)
      std::printf("%-15s %10s  %s\n", s.key.substr(0, 12).c_str(), mb(s.bytes).c_str(), s.origin.c_str());
  }
  return util::ok();
}

}  // namespace

void register_images(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("images", "List pulled images and where they came from");
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "Print a JSON array");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, json]() -> util::Result<int> {
    auto r = run_images(ctx, *json);
    if (!r) return r.error();
    return k_exit_ok;
  }));
}

}  // namespace cmd
