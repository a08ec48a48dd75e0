#include "engine/env_overrides.hpp"

#include <charconv>
#include <cstdlib>
#include <string_view>

namespace engine {

namespace {

util::Result<uint64_t> number(std::string_view name, std::string_view text, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max)
    return util::make_error(util::ErrorCode::Usage, std::string(name) + "=" + std::string(text) +
                                                        ": expected a number from " + std::to_string(min) + " to " +
                                                        std::to_string(max));
  return v;
}

}  // namespace

util::Result<EnvOverrides> parse_env_overrides(const char* (*getenv)(const char*)) {
  auto get = [&](const char* name) -> std::string_view {
    const char* v = getenv(name);
    return v ? v : "";
  };
  EnvOverrides o;
  if (auto v = get("MATCHLOCK_DISK_MIB"); !v.empty())
    o.disk_bytes = ML_TRY(number("MATCHLOCK_DISK_MIB", v, 64, 1u << 20)) << 20;
  o.bench_9p_dir = get("MATCHLOCK_BENCH_9P");
  o.workspace_transport = get("MATCHLOCK_WORKSPACE_TRANSPORT");
  if (!o.workspace_transport.empty() && o.workspace_transport != "virtiofs" && o.workspace_transport != "channel")
    return util::make_error(util::ErrorCode::Usage, "MATCHLOCK_WORKSPACE_TRANSPORT=" + o.workspace_transport +
                                                        ": expected \"virtiofs\" or \"channel\"");
  if (auto v = get("MATCHLOCK_NET_MTU"); !v.empty())
    o.net_mtu = static_cast<uint32_t>(ML_TRY(number("MATCHLOCK_NET_MTU", v, 576, 65520)));
  o.nic_link = get("MATCHLOCK_NIC_LINK");
  if (!o.nic_link.empty() && o.nic_link != "stream" && o.nic_link != "datagram")
    return util::make_error(util::ErrorCode::Usage,
                            "MATCHLOCK_NIC_LINK=" + o.nic_link + ": expected \"stream\" or \"datagram\"");
  o.system_policy = get("MATCHLOCK_SYSTEM_POLICY");
  return o;
}

const util::Result<EnvOverrides>& env_overrides() {
  static const util::Result<EnvOverrides> parsed =
      parse_env_overrides([](const char* name) -> const char* { return std::getenv(name); });
  return parsed;
}

}  // namespace engine
