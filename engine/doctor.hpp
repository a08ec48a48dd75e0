// doctor: what this host can do (hypervisors, namespaces, tools, kernel bundle).
#pragma once

#include <string>
#include <vector>

#include "util/xdg.hpp"

namespace engine {

enum class CheckState { Ok, Warn, Missing };

struct Check {
  std::string name;  // stable key, e.g. "qemu"
  CheckState state = CheckState::Missing;
  std::string detail;  // one line for humans
};

std::vector<Check> run_doctor(const util::Dirs& dirs);

// What this build enforces, for people and for CI to assert (`doctor --json` "enforces").
// A setting this build does not enforce is refused by validation, never ignored.
struct Enforcement {
  std::string name;  // stable key, e.g. "network_policy"
  bool enforced = false;
  std::string detail;  // where and how, one line
};
std::vector<Enforcement> enforced_by_this_build(const util::Dirs& dirs);
const char* to_string(CheckState state);

}  // namespace engine
