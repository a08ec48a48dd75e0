#include "engine/diagnostics.hpp"

#include <algorithm>

namespace engine {

void Diagnostics::add(SourcePos pos, std::string message) { m_items.push_back({pos, std::move(message)}); }

std::vector<Diagnostic> Diagnostics::sorted() const {
  std::vector<Diagnostic> out = m_items;
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) { return a.pos < b.pos; });
  return out;
}

std::string Diagnostics::format(const std::filesystem::path& display_path) const {
  std::string out;
  for (const auto& d : sorted()) {
    SourcePos p = d.pos.known() ? d.pos : SourcePos{1, 1};
    out +=
        display_path.string() + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + d.message + "\n";
  }
  return out;
}

}  // namespace engine
