#include "engine/exec_env.hpp"

#include <cstdlib>

namespace engine {

void set_env(std::vector<std::string>& env, const std::string& entry) {
  auto key = entry.substr(0, entry.find('='));
  for (auto& e : env) {
    if (e.substr(0, e.find('=')) == key) {
      e = entry;
      return;
    }
  }
  env.push_back(entry);
}

util::Result<std::vector<std::string>> resolve_env_flags(const std::vector<std::string>& flags) {
  std::vector<std::string> env;
  for (const auto& e : flags) {
    if (e.empty() || e[0] == '=') return util::make_error(util::ErrorCode::Usage, "-e " + e + ": expected KEY=VALUE");
    if (e.find('=') != std::string::npos) {
      env.push_back(e);
    } else if (const char* v = std::getenv(e.c_str())) {
      env.push_back(e + "=" + v);
    }
  }
  return env;
}

}  // namespace engine
