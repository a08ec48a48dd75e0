// matchlock validate [FILE...]: parse and check Matchlockfiles without
// touching images, VMs or secrets. Prints "FILE: ok" or every error as
// "FILE:LINE:COL: message"; exit 2 when any file is invalid.
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/config_parse.hpp"
#include "engine/discover.hpp"
#include "engine/lifecycle.hpp"
#include "engine/task_layers.hpp"
#include "engine/machine_policy.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace cmd {

namespace {

struct Options {
  std::vector<std::string> files;
  bool json = false;
};

// Returns true when FILE is valid; adds its result to OUT when JSON is wanted.
bool validate_one(const std::filesystem::path& file, const Options& opts,
                  const std::vector<engine::MachinePolicy>& policies, nlohmann::json& out, int& exit_code) {
  auto text = util::read_file(file);
  if (!text) {
    exit_code = std::max(exit_code, report(text.error()));
    if (opts.json)
      out.push_back({{"file", file.string()}, {"ok", false}, {"errors", {{{"message", text.error().message()}}}}});
    return false;
  }
  std::error_code ec;
  auto base = std::filesystem::absolute(file, ec).lexically_normal().parent_path();
  engine::ParseResult parsed = engine::parse_config(*text, file, base);
  // A valid file is also checked against the machine's policy.toml (its violations are errors too).
  if (parsed.config) engine::apply_machine_policies(*parsed.config, policies, parsed.diagnostics);
  // A valid file can still ask for something that never happens (a cache = true task `up` never runs).
  std::vector<std::string> warnings;
  if (parsed.diagnostics.empty() && parsed.config)
    if (auto order = engine::up_task_order(*parsed.config))
      warnings = engine::uncacheable_tasks(*parsed.config, *order);
  if (opts.json) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& d : parsed.diagnostics.sorted())
      errors.push_back({{"line", d.pos.line}, {"column", d.pos.column}, {"message", d.message}});
    out.push_back(
        {{"file", file.string()}, {"ok", parsed.diagnostics.empty()}, {"errors", errors}, {"warnings", warnings}});
  } else if (parsed.diagnostics.empty()) {
    std::printf("%s: ok\n", file.c_str());
    for (const auto& w : warnings) util::log::warn(w);
  } else {
    std::fputs(parsed.diagnostics.format(file).c_str(), stderr);
  }
  if (!parsed.diagnostics.empty()) exit_code = std::max(exit_code, k_exit_usage);
  return parsed.diagnostics.empty();
}

}  // namespace

void register_validate(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand("validate", "Check a Matchlockfile: every error as FILE:LINE:COL (exit 2 if any)");
  sub->add_option("files", opts->files, "Matchlockfiles to check (default: -f, or the nearest Matchlockfile)")
      ->type_name(k_type_file);
  sub->add_flag("--json", opts->json, "Print a JSON array of {file, ok, errors[{line, column, message}]}");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, opts]() -> util::Result<int> {
    std::vector<std::filesystem::path> files(opts->files.begin(), opts->files.end());
    if (files.empty()) {
      auto found = engine::discover_matchlockfile(ctx.file, std::filesystem::current_path());
      if (!found) return found.error();
      files.push_back(*found);
    }
    auto policies = engine::load_machine_policies(ctx.dirs);
    if (!policies) return policies.error();
    nlohmann::json out = nlohmann::json::array();
    int code = 0;
    for (const auto& f : files) validate_one(f, *opts, *policies, out, code);
    if (opts->json) std::printf("%s\n", out.dump(2).c_str());
    return code;
  }));
}

}  // namespace cmd
