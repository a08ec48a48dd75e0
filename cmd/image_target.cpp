#include "cmd/image_target.hpp"

#include "engine/config_parse.hpp"
#include "engine/discover.hpp"
#include "engine/lockfile.hpp"

namespace cmd {

util::Result<ImageTarget> resolve_image_target(const Context& ctx, const std::string& reference,
                                               const std::string& platform, NeedConfig need_config) {
  ImageTarget t;
  std::optional<engine::Config> config;
  if (reference.empty() || need_config == NeedConfig::Yes) {
    std::error_code ec;
    auto cwd = std::filesystem::current_path(ec);
    t.matchlockfile = ML_TRY(engine::discover_matchlockfile(ctx.file, cwd));
    config = ML_TRY(engine::load_config(t.matchlockfile));
    t.lock_path = engine::lockfile_path(t.matchlockfile);
  }
  if (!reference.empty())
    t.reference = ML_TRY(oci::parse_reference(reference));
  else
    t.reference = config->sandbox.image;
  std::string p = !platform.empty() ? platform : config ? config->sandbox.platform : std::string();
  t.platform = p.empty() ? oci::Platform::host() : ML_TRY(oci::Platform::parse(p));
  return t;
}

}  // namespace cmd
