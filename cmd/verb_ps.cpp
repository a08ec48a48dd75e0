// `matchlock ps [--json]`: every sandbox with its state (running, stopped, dead).
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/lifecycle.hpp"
#include "util/terminal_text.hpp"

namespace cmd {

namespace {

std::string uptime(const engine::SandboxRecord& r) {
  if (r.state != engine::SandboxState::Running) return "-";
  long s = static_cast<long>(std::time(nullptr) - r.started_unix);
  char buf[32];
  if (s < 120)
    std::snprintf(buf, sizeof buf, "%lds", s);
  else if (s < 7200)
    std::snprintf(buf, sizeof buf, "%ldm", s / 60);
  else
    std::snprintf(buf, sizeof buf, "%ldh", s / 3600);
  return buf;
}

}  // namespace

void register_ps(CLI::App& app, Context& ctx) {
  auto* sub =
      app.add_subcommand("ps", "List sandboxes: name, state, uptime, image, backend, accel, cpus/memory, ports");
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "Print a JSON array");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, json]() -> util::Result<int> {
    int code = k_exit_ok;
    nlohmann::json out = nlohmann::json::array();
    if (!*json)
      std::printf("%-20s %-9s %-7s %-40s %-8s %-5s %-4s %-8s %s\n", "NAME", "STATE", "UPTIME", "IMAGE", "BACKEND",
                  "ACCEL", "CPUS", "MEMORY", "PORTS");
    for (const auto& name : engine::list_sandboxes(ctx.dirs)) {
      auto r = engine::sandbox_status(ctx.dirs, name);
      if (!r) {
        code = report(r.error());
        continue;
      }
      std::string ports;
      for (const auto& p : r->ports)
        ports += (ports.empty() ? "" : ",") + std::to_string(p.host) + "->" + std::to_string(p.guest);
      if (*json) {
        auto j = nlohmann::json::parse(engine::record_to_json(*r));
        j["uptime"] = uptime(*r);
        out.push_back(j);
      } else {
        std::string mem = std::to_string(r->memory_bytes >> 20) + "MiB";
        std::printf("%-20s %-9s %-7s %-40s %-8s %-5s %-4d %-8s %s\n", util::terminal_text(r->name).c_str(),
                    engine::to_string(r->state), uptime(*r).c_str(), util::terminal_text(r->image).c_str(),
                    r->backend.c_str(), r->accel.empty() ? "-" : r->accel.c_str(), r->cpus, mem.c_str(),
                    ports.empty() ? "-" : ports.c_str());
      }
    }
    if (*json) std::printf("%s\n", out.dump(2).c_str());
    return code;
  }));
}

}  // namespace cmd
