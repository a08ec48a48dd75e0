// Kernel module metadata read straight from a .ko's ELF ".modinfo" section
// (what modinfo(8) prints), and dependency ordering without depmod.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace backends {

struct ModuleInfo {
  std::string name;                  // "name=" (falls back to the file stem)
  std::vector<std::string> depends;  // "depends=" split on ','
  std::string vermagic;              // "vermagic=" (first word is the kernel release)
};

// Parses an ELF64 little-endian relocatable object in memory.
util::Result<ModuleInfo> parse_module_info(std::string_view elf);

// Orders `wanted` and everything they depend on so that dependencies come first.
// `known` maps module name -> its depends. Fails when a dependency is unknown or cyclic.
util::Result<std::vector<std::string>> module_load_order(const std::vector<std::string>& wanted,
                                                         const std::map<std::string, std::vector<std::string>>& known);

}  // namespace backends
