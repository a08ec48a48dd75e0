// Which VMM boots a sandbox: `[sandbox].backend` resolved against the host this build runs on.
//
//   auto  -> vz on macOS (Virtualization.framework, backends/vz), qemu everywhere else
//   qemu  -> QEMU (backends/qemu); refused on macOS, where it has no vsock or virtio-fs server
//   vz    -> Virtualization.framework; refused on every host but macOS
//   firecracker, gvisor -> refused everywhere (not implemented)
//
// The validator reports a refused backend at its file:line:col (engine/config_sections.cpp),
// so a Matchlockfile never silently boots something other than what it names.
#pragma once

#include <string>

#include "engine/config.hpp"

namespace engine {

enum class Vmm { Qemu, Vz };
const char* to_string(Vmm vmm);

// The VMM `auto` means in this build.
Vmm host_default_vmm();
// Why this build cannot run BACKEND (the validator's message after `sandbox.backend "NAME" `),
// or "" when it can.
std::string backend_refusal(Backend backend);
// The VMM for BACKEND; an error (the refusal) when this build cannot run it.
util::Result<Vmm> resolve_backend(Backend backend);

}  // namespace engine
