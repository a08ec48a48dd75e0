#include <cstdio>
#include <nlohmann/json.hpp>

#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/doctor.hpp"

namespace cmd {

void register_doctor(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand("doctor", "Report what this host supports (hypervisor, KVM, tools, kernel bundle)");
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "Print one JSON object");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, json]() -> util::Result<int> {
    auto checks = engine::run_doctor(ctx.dirs);
    auto enforced = engine::enforced_by_this_build(ctx.dirs);
    if (*json) {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& c : checks) out[c.name] = {{"state", engine::to_string(c.state)}, {"detail", c.detail}};
      for (const auto& e : enforced) out["enforces"][e.name] = {{"enforced", e.enforced}, {"detail", e.detail}};
      std::printf("%s\n", out.dump(2).c_str());
    } else {
      for (const auto& c : checks)
        std::printf("%-16s %-8s %s\n", c.name.c_str(), engine::to_string(c.state), c.detail.c_str());
      std::printf("\nThis build enforces:\n");
      for (const auto& e : enforced)
        std::printf("  %-30s %-3s %s\n", e.name.c_str(), e.enforced ? "yes" : "no", e.detail.c_str());
    }
    return 0;
  }));
}

}  // namespace cmd
