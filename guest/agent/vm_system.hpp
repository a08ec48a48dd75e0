// protocol::System for PID 1 inside the VM: clock, disks, overlay root,
// switch_root, hostname, /etc/hosts; shutdown preparation.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "guest/protocol/server.hpp"

namespace agent {

class VmSystem : public protocol::System {
 public:
  // Milestones before boot (agent start, modules, host connected), reported in BootInfo.
  explicit VmSystem(std::vector<std::pair<std::string, int64_t>> early_timings) : m_early(std::move(early_timings)) {}
  util::Result<protocol::BootInfo> boot(const protocol::BootConfig& config) override;
  void prepare_shutdown() override;
  util::Result<void> freeze_writable(protocol::Freeze op) override;  // guest/agent/layer_disks.cpp
  void set_clock(int64_t unix_ns) override;
  util::Result<void> resume(const protocol::ResumeConfig& config) override;
  util::Result<util::Fd> open_fuse(const protocol::MountSpec& mount) override;  // guest/agent/fuse_mount.cpp

 private:
  std::vector<std::pair<std::string, int64_t>> m_early;
  bool m_booted = false;
  std::string m_ca_pem;               // the sandbox CA installed in the trust bundles (replaced on resume)
  std::set<uint32_t> m_fuse_mounted;  // mount ids served already (one channel each)
};

// serial -> /dev/vdX, from /sys/block/vd*/serial.
std::map<std::string, std::string> disks_by_serial();
// Plan of the overlay root for `config` (lower mount points, options string).
struct RootPlan {
  std::vector<std::pair<std::string, std::string>> lowers;  // device, mount point
  std::string upper_device;
  std::string overlay_options;
};
util::Result<RootPlan> plan_root(const protocol::BootConfig& config, const std::map<std::string, std::string>& disks);

}  // namespace agent
