#include "engine/sandbox_spec.hpp"

#include "engine/backend_choice.hpp"
#include "engine/env_overrides.hpp"
#include "engine/kernel_ref.hpp"

namespace engine {

util::Result<SandboxSpec> machine_spec(const util::Dirs& dirs, const Config* config, const GuestPlatform& platform) {
  const EnvOverrides& env = ML_TRY(env_overrides());
  SandboxSpec spec;
  spec.arch = platform.arch;
  spec.vmm = ML_TRY(resolve_backend(config ? config->sandbox.backend : Backend::Auto));
  if (config) {
    const auto& s = config->sandbox;
    spec.cpus = s.cpus;
    spec.memory_bytes = s.memory_bytes;
    spec.disk_bytes = s.disk_bytes;
    spec.hostname = s.hostname.empty() ? config->name : s.hostname;
    if (s.kernel.kind == KernelKind::Path) spec.kernel = s.kernel.path;
    if (s.kernel.kind == KernelKind::Reference)
      spec.kernel = ML_TRY_CTX(kernel_from_reference(dirs, s.kernel.reference), config->where("sandbox.kernel")).dir;
  } else {
    spec.cpus = k_default_cpus;
    spec.memory_bytes = k_default_memory;
    spec.disk_bytes = k_default_disk;
  }
  if (env.disk_bytes) spec.disk_bytes = *env.disk_bytes;
  spec.bench_9p_dir = env.bench_9p_dir;  // bench/workspace's baseline
  return spec;
}

}  // namespace engine
