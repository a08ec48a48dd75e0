// The Matchlockfile templates of `matchlock init`, embedded at build time
// from Matchlockfile.example and examples/*/Matchlockfile (cmake/embed_templates.cmake).
#pragma once

#include <string_view>
#include <vector>

namespace cmd {

struct InitTemplate {
  std::string_view name;     // "default", "claude-code", ...
  std::string_view content;  // the file, as in the source tree
};

const std::vector<InitTemplate>& init_templates();

}  // namespace cmd
