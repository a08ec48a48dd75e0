// The MATCHLOCK_* environment variables the backends honour, read once per process:
// which QEMU, firmware and guest agent to use and which accelerator to force. Documented
// with engine's (engine/env_overrides.hpp) in docs/environment.md. An empty field: unset.
#pragma once

#include <string>

#include "backends/guest_arch.hpp"

namespace backends {

struct HostOverrides {
  std::string qemu_amd64;   // MATCHLOCK_QEMU: the qemu-system-x86_64 to run
  std::string qemu_arm64;   // MATCHLOCK_QEMU_ARM64: the qemu-system-aarch64 to run
  std::string firmware;     // MATCHLOCK_QEMU_FIRMWARE: "auto", "qemu" or a file (microvm)
  std::string accel;        // MATCHLOCK_ACCEL: "kvm" or "tcg" instead of the probe (checked by choose_accel)
  std::string agent_amd64;  // MATCHLOCK_AGENT: the x86-64 guest agent
  std::string agent_arm64;  // MATCHLOCK_AGENT_ARM64: the arm64 guest agent

  const std::string& qemu(GuestArch arch) const { return arch == GuestArch::Arm64 ? qemu_arm64 : qemu_amd64; }
  const std::string& agent(GuestArch arch) const { return arch == GuestArch::Arm64 ? agent_arm64 : agent_amd64; }
};

// GETENV (std::getenv's shape) -> the overrides.
HostOverrides parse_host_overrides(const char* (*getenv)(const char*));
// This process's overrides, read on first use.
const HostOverrides& host_overrides();

}  // namespace backends
