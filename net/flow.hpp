// A guest TCP connection accepted by net::Stack, handed to the policy/proxy layer.
//
// Contract (stable; the proxy codes against it):
// - Admission (StackConfig::admit_flow, optional) is asked on the stack's thread when the
//   guest's SYN arrives: false refuses the connection (RST instead of SYN-ACK, "connection
//   refused"). It must not block.
// - The handler is called on the stack's thread once the three-way handshake completes — never
//   for a half-open connection, so a SYN flood costs no socketpair, thread or upstream dial.
//   It must not block: hand the fd to another thread or loop.
// - `stream` is a connected AF_UNIX SOCK_STREAM socketpair end (O_CLOEXEC, blocking mode).
//   Bytes the guest sends arrive on it in order; bytes written to it go to the guest.
// - Backpressure both ways: the stack stops advertising TCP window while the socketpair is
//   full, and stops reading the socketpair while the guest's window is zero. Buffers are bounded.
// - Half-close and close map to TCP:
//     guest FIN              -> EOF on `stream` (after all data)
//     shutdown(SHUT_WR)      -> FIN to the guest (after all data written before it)
//     close() after >=1 byte written, no unread data -> FIN to the guest
//     close() with unread data (kernel reports ECONNRESET) -> RST to the guest
//     close() before writing any byte and before the guest's FIN -> RST (a refusal)
//     close() inside the handler call -> RST (the handshake is done: "connection reset")
//     guest RST              -> the stack closes its end (reader sees EOF or ECONNRESET)
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "net/ipv4.hpp"
#include "util/fd.hpp"

namespace net {

struct FlowInfo {
  Ipv4 guest_ip;
  uint16_t guest_port = 0;
  Ipv4 dst_ip;
  uint16_t dst_port = 0;
  std::string dst_name;  // name behind a synthetic address (NameMap); empty if not synthetic
};

using FlowHandler = std::function<void(const FlowInfo&, util::Fd stream)>;
using FlowAdmission = std::function<bool(const FlowInfo&)>;

}  // namespace net
