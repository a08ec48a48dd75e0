// Environment lists ("K=V" entries) built up by precedence: image < [sandbox.env]
// < task env < -e. Used by `run` and by the supervisor's task/exec requests.
#pragma once

#include <string>
#include <vector>

namespace engine {

// Sets ENTRY ("K=V") in ENV, replacing an existing K in place, else appending.
void set_env(std::vector<std::string>& env, const std::string& entry);

}  // namespace engine
