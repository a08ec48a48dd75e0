#include "engine/sandbox_ports.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

#include "engine/supervisor_wire.hpp"

namespace engine {

using nlohmann::json;

namespace {

std::optional<uint16_t> parse_port(std::string_view text, bool zero_ok) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v > 65535 || (v == 0 && !zero_ok))
    return std::nullopt;
  return static_cast<uint16_t>(v);
}

util::Result<json> port_request(const util::Dirs& dirs, const std::string& name, const json& request) {
  return supervisor_request(dirs, name, request);
}

std::vector<PortForward> ports_of(const json& reply) {
  std::vector<PortForward> out;
  for (const auto& p : reply.value("ports", json::array()))
    out.push_back(
        {p.value("host", uint16_t{0}), p.value("guest", uint16_t{0}), port_origin(p.value("origin", std::string()))});
  return out;
}

}  // namespace

bool looks_like_port_spec(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789:") == std::string_view::npos;
}

util::Result<PortSpec> parse_port_spec(std::string_view text) {
  auto bad = [&] {
    return util::make_error(
        util::ErrorCode::Usage,
        "\"" + std::string(text) + "\" is not GUEST[:HOST] (ports 1..65535; HOST 0 = any free port)");
  };
  auto colon = text.find(':');
  auto guest = parse_port(text.substr(0, colon), false);
  if (!guest) return bad();
  PortSpec spec{*guest, *guest};
  if (colon != std::string_view::npos) {
    auto host = parse_port(text.substr(colon + 1), true);
    if (!host) return bad();
    spec.host = *host;
  }
  return spec;
}

util::Result<std::vector<PortForward>> list_ports(const util::Dirs& dirs, const std::string& name) {
  return ports_of(ML_TRY(port_request(dirs, name, {{"op", "port"}})));
}

util::Result<PortForward> add_port(const util::Dirs& dirs, const std::string& name, const PortSpec& spec) {
  auto reply =
      ML_TRY(port_request(dirs, name, {{"op", "port"}, {"add", {{"guest", spec.guest}, {"host", spec.host}}}}));
  const json& a = reply.at("added");
  return PortForward{a.value("host", uint16_t{0}), a.value("guest", uint16_t{0}), PortOrigin::Cli};
}

util::Result<std::vector<PortForward>> remove_ports(const util::Dirs& dirs, const std::string& name, uint16_t guest,
                                                    uint16_t host) {
  auto reply = ML_TRY(port_request(dirs, name, {{"op", "port"}, {"remove", {{"guest", guest}, {"host", host}}}}));
  std::vector<PortForward> out;
  for (const auto& r : reply.value("removed", json::array()))
    out.push_back({r.value("host", uint16_t{0}), r.value("guest", uint16_t{0}), PortOrigin::Cli});
  return out;
}

}  // namespace engine
