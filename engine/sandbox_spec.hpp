// The one place a SandboxSpec's machine is decided, for `run` and for the supervisor of
// `up`: the Matchlockfile's [sandbox] (or the defaults for `run --image` without one), the
// VMM (engine/backend_choice), the guest platform, the kernel (a path, or a pulled kernel artifact), and the environment's
// overrides (engine/env_overrides.hpp). Image, layers, network and mounts are the caller's.
#pragma once

#include "engine/config.hpp"
#include "engine/guest_platform.hpp"
#include "engine/sandbox_vm.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

util::Result<SandboxSpec> machine_spec(const util::Dirs& dirs, const Config* config, const GuestPlatform& platform);

}  // namespace engine
