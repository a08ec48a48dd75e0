// Host services ([network.services] in the Matchlockfile): a host-side TCP endpoint the
// guest reaches under a stable name, NAME.host.internal:PORT, and nothing else.
//   - Only names under host.internal that are declared services are answered by DNS and
//     admitted, and only on the service's own port; allow rules never match such names
//     (net/rule.cpp refuses rules that name them), and no such name is ever resolved on
//     the host: the flow is connected to the declared ADDRESS:TO_PORT.
//   - The declared address is not added to any allow list: a direct connection to it, or
//     an allowed name that resolves to it, is judged as before (block_private).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/ipv4.hpp"

namespace net {

// The domain every service name lives under, as the guest sees it.
inline constexpr std::string_view k_service_domain = "host.internal";

struct HostService {
  std::string name;   // the service's label: "postgres"
  uint16_t port = 0;  // the port the guest connects to
  Ipv4 address;       // where the supervisor connects on the host side
  uint16_t to_port = 0;

  // "postgres.host.internal"
  std::string guest_name() const { return std::string(name) + "." + std::string(k_service_domain); }
  // "127.0.0.1:5432"
  std::string target() const { return address.to_string() + ":" + std::to_string(to_port); }
};

// A service name: one DNS label of lowercase letters, digits and '-', starting with a
// letter, not ending with '-', at most 63 characters.
bool is_valid_service_name(std::string_view name);

// HOST (canonical, lowercase) is host.internal or a name under it: reserved for services.
bool in_service_domain(std::string_view host);

// "ADDRESS:PORT" with a dotted-quad IPv4 address that a socket can be connected to
// (not 0.0.0.0/8, multicast, 240/4 or broadcast) and a port 1..65535. WHY says what is wrong.
struct ServiceTarget {
  Ipv4 address;
  uint16_t port = 0;
};
std::optional<ServiceTarget> parse_service_target(std::string_view text, std::string* why);

}  // namespace net
