// The initramfs: our static guest agent as /init plus the bundle's modules at
// /lib/modules/NN-name.ko and /lib/modules/order (load order, one file name a
// line), written as cpio newc with libarchive. Cached per (kernel, agent) hash
// under $XDG_CACHE_HOME/matchlock/initramfs/<hash>.cpio.
#pragma once

#include <filesystem>
#include <string>

#include "backends/kernel_bundle.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace backends {

// The agent binary for ARCH: $MATCHLOCK_AGENT (amd64) or $MATCHLOCK_AGENT_ARM64, else
// <dir of this executable>/NAME, else <dir>/../lib/matchlock/NAME, where NAME is
// matchlock-agent (amd64) or matchlock-agent-arm64 (the cross build, guest/agent/cross).
util::Result<std::filesystem::path> locate_agent(GuestArch arch = host_arch());

// Writes the archive to OUT (atomically).
util::Result<void> write_initramfs(const KernelBundle& kernel, const std::filesystem::path& agent,
                                   const std::filesystem::path& out);

// The cached initramfs for this kernel and agent, built on first use.
util::Result<std::filesystem::path> ensure_initramfs(const util::Dirs& dirs, const KernelBundle& kernel,
                                                     const std::filesystem::path& agent);

}  // namespace backends
