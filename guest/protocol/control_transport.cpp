#include "guest/protocol/control_transport.hpp"

#include <charconv>

namespace protocol {

std::string control_cmdline(const ControlTransport& transport) {
  std::string word = std::string(k_control_param) + "=";
  if (transport.kind == ControlKind::Vsock) return word + "vsock:" + std::to_string(transport.port);
  return word + "virtio-serial";
}

util::Result<ControlTransport> parse_control_transport(std::string_view cmdline) {
  ControlTransport out;
  const std::string prefix = std::string(k_control_param) + "=";
  size_t pos = 0;
  while (pos < cmdline.size()) {
    size_t start = cmdline.find_first_not_of(" \t\n", pos);
    if (start == std::string_view::npos) break;
    size_t end = cmdline.find_first_of(" \t\n", start);
    if (end == std::string_view::npos) end = cmdline.size();
    std::string_view word = cmdline.substr(start, end - start);
    pos = end;
    if (!word.starts_with(prefix)) continue;
    std::string_view value = word.substr(prefix.size());
    auto bad = [&](const std::string& why) {
      return util::make_error(util::ErrorCode::Usage, "kernel command line " + std::string(word) + ": " + why);
    };
    if (value == "virtio-serial") {
      out = {};
      continue;
    }
    if (!value.starts_with("vsock:")) return bad("expected virtio-serial or vsock:PORT");
    std::string_view digits = value.substr(6);
    uint32_t port = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size())
      return bad("PORT must be a decimal number below 2^32");
    if (port == 0xffffffffu) return bad("PORT 4294967295 is VMADDR_PORT_ANY");
    out = {ControlKind::Vsock, port};
  }
  return out;
}

}  // namespace protocol
