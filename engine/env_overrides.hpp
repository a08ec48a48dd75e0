// The MATCHLOCK_* environment variables engine honours, read once per process and
// validated (a malformed value is an error naming the variable, never a silent default).
// Each variable is documented in docs/environment.md; the backends' own variables
// (QEMU, firmware, accelerator, agent) are backends/host_overrides.hpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "util/result.hpp"

namespace engine {

struct EnvOverrides {
  std::optional<uint64_t> disk_bytes;  // MATCHLOCK_DISK_MIB: the writable disk, MiB (64..1048576)
  std::filesystem::path bench_9p_dir;  // MATCHLOCK_BENCH_9P: bench/workspace's virtio-9p baseline share
  std::string workspace_transport;     // MATCHLOCK_WORKSPACE_TRANSPORT: "virtiofs", "channel" or "" (auto)
  std::optional<uint32_t> net_mtu;     // MATCHLOCK_NET_MTU: the NIC's MTU (576..65520)
  std::string nic_link;  // MATCHLOCK_NIC_LINK: "datagram" (VZ's framing under QEMU, tests), "stream" or ""
  std::filesystem::path system_policy;  // MATCHLOCK_SYSTEM_POLICY: instead of /etc/matchlock/policy.toml
};

// GETENV (std::getenv's shape) -> the overrides, or the first malformed variable.
util::Result<EnvOverrides> parse_env_overrides(const char* (*getenv)(const char*));
// This process's overrides, parsed on first use.
const util::Result<EnvOverrides>& env_overrides();

}  // namespace engine
