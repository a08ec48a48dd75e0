#include "engine/memory_snapshot_key.hpp"

#include "util/sha256.hpp"

namespace engine {

std::vector<std::string> describe(const MemorySnapshotInputs& in) {
  std::string layers;
  for (const auto& l : in.layers) layers += (layers.empty() ? "" : ",") + l;
  return {
      "format=" + std::to_string(k_memory_snapshot_format),
      "rootfs=" + in.rootfs_sha256,
      "layers=" + layers,
      "kernel=" + in.kernel_sha256,
      "initramfs=" + in.initramfs_sha256,
      "agent=" + in.agent_sha256,
      "arch=" + in.arch,
      "machine=" + in.machine,
      "accel=" + in.accel,
      "cpus=" + std::to_string(in.cpus),
      "memory_mib=" + std::to_string(in.memory_mib),
      "disk_bytes=" + std::to_string(in.disk_bytes),
      "devices=" + in.devices,
      "qemu=" + in.qemu_version,
      "firmware=" + in.firmware,
      "cmdline=" + in.cmdline,
  };
}

std::string memory_snapshot_key(const MemorySnapshotInputs& inputs) {
  std::string text;
  // Values never hold a newline except by accident; length-prefix them so no two
  // input sets can produce the same text.
  for (const auto& line : describe(inputs)) text += std::to_string(line.size()) + ":" + line + "\n";
  return util::sha256_hex(text);
}

}  // namespace engine
