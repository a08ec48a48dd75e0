// `up --frozen`: like `pull --frozen`, Matchlockfile.lock must pin the
// Matchlockfile's image for its platform (exit 3 otherwise), and the sandbox
// must run exactly that manifest.
#pragma once

#include <string>

#include "cmd/context.hpp"
#include "engine/lockfile.hpp"
#include "engine/sandbox_state.hpp"
#include "util/result.hpp"

namespace cmd {

// ErrorCode::Frozen when the lock is missing or does not pin the image for PLATFORM
// ("" = the Matchlockfile's, else the host's; `run --platform` passes its own).
util::Result<engine::LockedImage> frozen_pin(const Context& ctx, const std::string& platform = "");
// ErrorCode::Frozen when RECORD's image is not PIN's manifest.
util::Result<void> check_frozen_boot(const engine::LockedImage& pin, const engine::SandboxRecord& record);

}  // namespace cmd
