// How the host and the agent reach each other: the kernel command line names the transport of
// the control channel. Both ends read these constants (the host writes the parameter, the agent
// parses it), so they live in the protocol library.
//
//   (absent) or matchlock.control=virtio-serial   QEMU: the virtio-serial port "matchlock.ctl"
//   matchlock.control=vsock:PORT                  Virtualization.framework: the agent listens on
//                                                 AF_VSOCK PORT and the host connects to it
//
// The multiplexed protocol on top is the same on both (docs/protocol.md).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace protocol {

inline constexpr std::string_view k_control_param = "matchlock.control";
// The vsock port the VZ backend uses (ports below 1024 are reserved by convention).
inline constexpr uint32_t k_vsock_control_port = 1024;

enum class ControlKind { VirtioSerial, Vsock };

struct ControlTransport {
  ControlKind kind = ControlKind::VirtioSerial;
  uint32_t port = 0;  // Vsock only
  bool operator==(const ControlTransport&) const = default;
};

// The kernel command line word for TRANSPORT ("matchlock.control=vsock:1024").
std::string control_cmdline(const ControlTransport& transport);
// Reads the transport from a kernel command line (the text of /proc/cmdline). The last
// occurrence wins, like the kernel's own parameters. Errors name the bad word.
util::Result<ControlTransport> parse_control_transport(std::string_view cmdline);

}  // namespace protocol
