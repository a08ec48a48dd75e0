// `matchlock gateway` from start to SIGTERM (docs/gateway.md): the health port first (so a
// probe sees 503 while loading), then the Matchlockfile, secrets and CA
// (engine/gateway_setup.hpp), the audit log on stdout, the proxy listener, ready; then
// serve until SIGTERM/SIGINT, drain in-flight clients (bounded), return.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "engine/gateway_setup.hpp"
#include "util/result.hpp"

namespace engine {

struct GatewayServe {
  std::filesystem::path matchlockfile;
  GatewaySettings settings;
  std::string listen = "0.0.0.0:3128";
  std::string health = "0.0.0.0:8080";
  size_t max_clients = 1024;
  size_t max_per_client = 64;
  std::chrono::milliseconds head_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};  // a tunnel where neither side speaks first
};

util::Result<void> serve_gateway(const GatewayServe& serve);

}  // namespace engine
