#include "backends/vm.hpp"

namespace backends {

namespace {

std::string last_line_with(const std::string& text, std::string_view needle) {
  auto pos = text.rfind(needle);
  if (pos == std::string::npos) return {};
  auto end = text.find_first_of("\r\n", pos);
  return text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

}  // namespace

std::string console_diagnosis(const std::string& console) {
  if (auto l = last_line_with(console, "MATCHLOCK-AGENT-FATAL:"); !l.empty()) return l;
  if (auto l = last_line_with(console, "Kernel panic"); !l.empty()) return "guest " + l;
  return {};
}

}  // namespace backends
