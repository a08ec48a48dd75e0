// `matchlock volume ls [--json]` and `matchlock volume rm NAME...`: the named volumes
// ([[mounts]] volume = "NAME") kept under <state>/volumes (engine/volumes.hpp).
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/lifecycle.hpp"
#include "engine/volumes.hpp"
#include "util/size.hpp"

namespace cmd {

namespace {

std::string when(int64_t unix_time) {
  if (unix_time <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(unix_time);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", std::localtime(&t));
  return buf;
}

void register_volume_ls(CLI::App& volume, Context& ctx) {
  auto* sub = volume.add_subcommand("ls", "List named volumes: sandbox, name, size, the Matchlockfile that owns it");
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "Print a JSON array");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, json]() -> util::Result<int> {
    auto volumes = engine::list_volumes(ctx.dirs);
    if (!volumes) return volumes.error();
    if (*json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& v : *volumes)
        out.push_back({{"sandbox", v.sandbox},
                       {"volume", v.volume},
                       {"path", v.data.string()},
                       {"file", v.file},
                       {"created", v.created_unix},
                       {"bytes", v.bytes},
                       {"in_use", v.in_use},
                       {"orphaned", v.orphaned}});
      std::printf("%s\n", out.dump(2).c_str());
      return k_exit_ok;
    }
    std::printf("%-24s %-10s %-16s %-6s %s\n", "VOLUME", "SIZE", "CREATED", "STATE", "MATCHLOCKFILE");
    for (const auto& v : *volumes) {
      const char* state = v.in_use ? "in use" : v.orphaned ? "orphan" : "-";
      std::printf("%-24s %-10s %-16s %-6s %s\n", (v.sandbox + "/" + v.volume).c_str(),
                  util::format_size(v.bytes).c_str(), when(v.created_unix).c_str(), state, v.file.c_str());
    }
    return k_exit_ok;
  }));
}

void register_volume_rm(CLI::App& volume, Context& ctx) {
  auto* sub =
      volume.add_subcommand("rm", "Delete named volumes (SANDBOX/VOLUME, or VOLUME of the Matchlockfile's sandbox)");
  auto names = std::make_shared<std::vector<std::string>>();
  auto sandbox = std::make_shared<std::string>();
  sub->add_option("names", *names, "Volumes to delete")->required()->type_name("[SANDBOX/]VOLUME");
  sub->add_option("--name", *sandbox, "The sandbox a bare VOLUME belongs to (default: the Matchlockfile's)")
      ->type_name(k_type_sandbox);
  sub->callback(verb_callback(ctx.exit_code, [&ctx, names, sandbox]() -> util::Result<int> {
    int code = k_exit_ok;
    for (const auto& n : *names) {
      std::string owner = *sandbox;
      if (owner.empty() && n.find('/') == std::string::npos) {
        auto target = engine::resolve_target(ctx.file, "");
        if (!target) {
          code = report(target.error().context("volume " + n));
          continue;
        }
        owner = target->name;
      }
      auto ref = engine::parse_volume_ref(n, owner);
      if (!ref) {
        code = report(ref.error());
        continue;
      }
      if (auto r = engine::remove_volume(ctx.dirs, *ref); !r) {
        code = report(r.error());
        continue;
      }
      std::printf("%s removed\n", ref->text().c_str());
    }
    return code;
  }));
}

}  // namespace

void register_volume(CLI::App& app, Context& ctx) {
  auto* volume = app.add_subcommand("volume", "Named volumes: list and delete");
  volume->require_subcommand(1);
  register_volume_ls(*volume, ctx);
  register_volume_rm(*volume, ctx);
}

}  // namespace cmd
