// Fuzz target: the Matchlockfile parser and validator (engine/config_parse, toml++ through
// engine/config_reader), then what later stages read from a valid Config: every task's run
// order (engine/task_graph), the positions of its keys, the network rules.
// Input: the file's text.
// Invariants: a Config comes back exactly when there is no diagnostic; every diagnostic has a
// position inside the text and formats as "PATH:LINE:COL: message"; task_order of a valid
// Config succeeds and lists the task last.
#include "engine/config_parse.hpp"
#include "engine/task_graph.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  engine::ParseResult r = engine::parse_config(text, "Matchlockfile", "/work/project");
  FUZZ_CHECK(r.config.has_value() == r.diagnostics.empty());
  if (!r.config) {
    std::string out = r.diagnostics.format("Matchlockfile");
    FUZZ_CHECK(out.starts_with("Matchlockfile:") && out.ends_with("\n"));
    return 0;
  }
  const engine::Config& c = *r.config;
  for (const auto& t : c.tasks) {
    auto order = engine::task_order(c, t.name);
    FUZZ_CHECK(order.has_value() && !order->empty() && order->back() == t.name);
  }
  for (const auto& [key, pos] : c.positions) (void)c.where(key);
  (void)c.allowed_rules();
  return 0;
}
