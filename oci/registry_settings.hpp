// Per-registry user settings from $XDG_CONFIG_HOME/matchlock/config.toml, in
// the spirit of containerd's hosts.toml:
//
//   [registry."docker.io"]
//   mirrors = ["127.0.0.1:5000", "oci-layout:/srv/mirror"]
//   [registry."myreg.local:5000"]
//   insecure = true          # plain HTTP allowed (always allowed for localhost)
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace oci {

struct RegistryHost {
  std::vector<std::string> mirrors;  // tried in order before the registry itself
  bool insecure = false;
};

struct RegistrySettings {
  std::map<std::string, RegistryHost> hosts;  // key: registry host[:port]

  const RegistryHost* find(std::string_view registry) const;
  // Missing file: empty settings. Parse errors name file:line:col.
  static util::Result<RegistrySettings> load(const std::filesystem::path& config_toml);
  static util::Result<RegistrySettings> parse(std::string_view toml, std::string_view source_name);
};

}  // namespace oci
