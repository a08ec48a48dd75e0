// Diagnostics: all errors found in one Matchlockfile, each with its position.
// Printed as "PATH:LINE:COL: message", sorted by position.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/config.hpp"

namespace engine {

struct Diagnostic {
  SourcePos pos;
  std::string message;
};

class Diagnostics {
 public:
  void add(SourcePos pos, std::string message);
  bool empty() const { return m_items.empty(); }
  size_t size() const { return m_items.size(); }
  // Sorted by position (stable for equal positions).
  std::vector<Diagnostic> sorted() const;
  // One "PATH:LINE:COL: message" per line, sorted, each ending in '\n'.
  std::string format(const std::filesystem::path& display_path) const;

 private:
  std::vector<Diagnostic> m_items;
};

}  // namespace engine
