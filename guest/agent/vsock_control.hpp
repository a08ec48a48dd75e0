// The control channel over AF_VSOCK (Virtualization.framework: VZVirtioSocketDevice). The agent
// listens on the port the kernel command line names (guest/protocol/control_transport.hpp) and
// accepts one connection from the host (CID 2); the protocol then runs on it exactly as on
// QEMU's virtio-serial port.
#pragma once

#include <cstdint>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace agent {

// A listening AF_VSOCK stream socket on (VMADDR_CID_ANY, PORT).
util::Result<util::Fd> listen_vsock(uint32_t port);
// Waits up to TIMEOUT_MS for the host's connection on LISTENER. A peer whose CID is not the
// host's (2) is closed and waited past.
util::Result<util::Fd> accept_host(int listener, int timeout_ms);

}  // namespace agent
