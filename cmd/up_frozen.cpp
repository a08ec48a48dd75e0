#include "cmd/up_frozen.hpp"

#include "cmd/image_target.hpp"

namespace cmd {

util::Result<engine::LockedImage> frozen_pin(const Context& ctx, const std::string& platform) {
  ImageTarget target = ML_TRY(resolve_image_target(ctx, "", platform, NeedConfig::Yes));
  auto lock = ML_TRY(engine::Lockfile::load(target.lock_path));
  return engine::frozen_entry(lock, target.lock_path, target.reference.to_string(), target.platform.to_string());
}

util::Result<void> check_frozen_boot(const engine::LockedImage& pin, const engine::SandboxRecord& record) {
  if (record.image_digest == pin.manifest_digest) return util::ok();
  return util::make_error(util::ErrorCode::Frozen,
                          "sandbox '" + record.name + "' runs " + record.image + "@" + record.image_digest +
                              " but the lock pins " + pin.manifest_digest +
                              "; run `matchlock lock` (or `matchlock pull --frozen`) and `matchlock up --recreate`");
}

}  // namespace cmd
