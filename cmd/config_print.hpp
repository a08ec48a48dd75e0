// Rendering a resolved engine::Config for `matchlock config`: JSON (--json)
// or TOML-like text. Secrets appear by reference only; values are never read.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engine/config.hpp"

namespace cmd {

nlohmann::json config_to_json(const engine::Config& config);
std::string config_to_text(const engine::Config& config);

}  // namespace cmd
