// Environment lists ("K=V" entries) built up by precedence: image < [sandbox.env]
// < task env < -e. Used by `run` and by the supervisor's task/exec requests.
#pragma once

#include <string>
#include <vector>

#include "util/result.hpp"

namespace engine {

// Sets ENTRY ("K=V") in ENV, replacing an existing K in place, else appending.
void set_env(std::vector<std::string>& env, const std::string& entry);

// -e entries (run, exec, run TASK): "K=V" as is, "K" taken from our environment
// (skipped when unset); "" and "=V" are usage errors.
util::Result<std::vector<std::string>> resolve_env_flags(const std::vector<std::string>& flags);

}  // namespace engine
