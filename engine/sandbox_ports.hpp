// The CLI side of `matchlock port`: forward a guest port to the host's loopback while the
// sandbox runs, list and remove forwards (the supervisor does the work:
// engine/supervisor_ports.hpp; docs/network.md, "Ports the guest opens").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sandbox_state.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

// "GUEST[:HOST]": ports 1..65535; HOST 0 means any free port; no HOST means HOST = GUEST
// (so a redirect to localhost:GUEST inside the guest also works from the host).
struct PortSpec {
  uint16_t guest = 0;
  uint16_t host = 0;
};
util::Result<PortSpec> parse_port_spec(std::string_view text);
bool looks_like_port_spec(std::string_view text);

// The forwards of the running sandbox NAME.
util::Result<std::vector<PortForward>> list_ports(const util::Dirs& dirs, const std::string& name);
// Adds SPEC; the forward as bound (the host port chosen when SPEC.host was 0).
util::Result<PortForward> add_port(const util::Dirs& dirs, const std::string& name, const PortSpec& spec);
// Removes the forwards of SPEC.guest (only from SPEC.host when given); what was removed.
util::Result<std::vector<PortForward>> remove_ports(const util::Dirs& dirs, const std::string& name, uint16_t guest,
                                                    uint16_t host);

}  // namespace engine
