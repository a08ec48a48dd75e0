// `matchlock rmi REF...`: forget pulled images (all platforms). Their blobs
// and rootfs are reclaimed by `matchlock gc`.
#include <cstdio>

#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "oci/image_records.hpp"
#include "oci/reference.hpp"

namespace cmd {

namespace {

util::Result<void> run_rmi(Context& ctx, const std::vector<std::string>& refs) {
  oci::Store store = ML_TRY(oci::Store::open(ctx.dirs));
  for (const auto& text : refs) {
    std::string key = text;
    if (!text.starts_with("sha256:")) key = ML_TRY(oci::parse_reference(text)).to_string();
    auto removed = ML_TRY(oci::remove_image_records(store, key));
    if (removed.empty())
      return util::make_error(util::ErrorCode::NotFound, "no pulled image " + key + " (see `matchlock images`)");
    for (const auto& r : removed)
      std::printf("removed %s (%s) %s\n", r.reference.c_str(), r.platform.c_str(), r.manifest_digest.c_str());
  }
  return util::ok();
}

}  // namespace

void register_rmi(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("rmi", "Remove pulled images (run `matchlock gc` to reclaim space)");
  auto refs = std::make_shared<std::vector<std::string>>();
  sub->add_option("reference", *refs, "Image reference or manifest digest")->required()->type_name("REF");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, refs]() -> util::Result<int> {
    auto r = run_rmi(ctx, *refs);
    if (!r) return r.error();
    return k_exit_ok;
  }));
}

}  // namespace cmd
