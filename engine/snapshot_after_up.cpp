#include "engine/snapshot_after_up.hpp"

#include <chrono>
#include <memory>

#include "engine/sandbox_net.hpp"
#include "util/temp_dir.hpp"

namespace engine {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

util::Result<AfterUpSnapshot> save_after_up_snapshot(const util::Dirs& dirs, SandboxSpec spec,
                                                     std::vector<fs::path> layers, const fs::path& work_dir) {
  auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<SandboxNet> nic;
  if (spec.network) {
    nic = ML_TRY_CTX(SandboxNet::offline(*spec.network), "memory snapshot after the up tasks");
    spec.network = nic.get();
  }
  spec.layers = std::move(layers);
  spec.mounts.clear();  // they differ between the sandboxes that resume it (attached after resume)
  spec.snapshot = SnapshotUse::SaveOnly;
  // A short name: QEMU's sockets live in it (sun_path holds 108 bytes).
  util::TempDir state = ML_TRY_CTX(util::TempDir::create(work_dir, "s."), "memory snapshot after the up tasks");
  auto vm = ML_TRY_CTX(SandboxVm::boot(dirs, spec, state.path()), "memory snapshot after the up tasks");
  AfterUpSnapshot r;
  r.outcome = vm.snapshot();
  if (vm.booted()) {
    if (auto down = vm.shutdown(15s); !down) return std::move(down).error().context("memory snapshot VM");
  }
  r.ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace engine
