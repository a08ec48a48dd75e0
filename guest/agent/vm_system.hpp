// protocol::System for PID 1 inside the VM: clock, disks, overlay root,
// switch_root, hostname, /etc/hosts; shutdown preparation.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "guest/protocol/server.hpp"

namespace agent {

class VmSystem : public protocol::System {
 public:
  explicit VmSystem(int64_t start_ms) : m_start_ms(start_ms) {}
  util::Result<protocol::BootInfo> boot(const protocol::BootConfig& config) override;
  void prepare_shutdown() override;

 private:
  int64_t m_start_ms;
  bool m_booted = false;
};

// serial -> /dev/vdX, from /sys/block/vd*/serial.
std::map<std::string, std::string> disks_by_serial();
// Plan of the overlay root for `config` (lower mount points, options string).
struct RootPlan {
  std::vector<std::pair<std::string, std::string>> lowers;  // device, mount point
  std::string upper_device;
  std::string overlay_options;
};
util::Result<RootPlan> plan_root(const protocol::BootConfig& config,
                                 const std::map<std::string, std::string>& disks);

}  // namespace agent
