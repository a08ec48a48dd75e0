// matchlock init [--template NAME] [--force] [--list]: writes a Matchlockfile
// (./Matchlockfile, or -f PATH) from one of the embedded example templates.
#include <cstdio>
#include <filesystem>

#include "cmd/exit_code.hpp"
#include "cmd/init_templates.hpp"
#include "cmd/verbs.hpp"
#include "util/atomic_file.hpp"

namespace cmd {

namespace {

struct Options {
  std::string name = "default";
  bool force = false;
  bool list = false;
};

// The first plain comment line of a template, used as its description.
std::string_view describe(std::string_view content) {
  while (!content.empty()) {
    auto nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    if (line.starts_with("# ")) return line.substr(2);
    if (nl == std::string_view::npos) break;
    content.remove_prefix(nl + 1);
  }
  return {};
}

// Drops the "#:schema" editor header: its relative path only holds inside the source tree.
std::string without_schema_header(std::string_view content) {
  std::string out;
  while (!content.empty()) {
    auto nl = content.find('\n');
    std::string_view line = content.substr(0, nl == std::string_view::npos ? content.size() : nl + 1);
    if (!line.starts_with("#:schema")) out += line;
    content.remove_prefix(line.size());
  }
  return out;
}

int run_init(const Context& ctx, const Options& opts) {
  const auto& templates = init_templates();
  if (opts.list) {
    for (const auto& t : templates) std::printf("%-12s %s\n", std::string(t.name).c_str(), std::string(describe(t.content)).c_str());
    return k_exit_ok;
  }
  const InitTemplate* chosen = nullptr;
  std::string names;
  for (const auto& t : templates) {
    if (t.name == opts.name) chosen = &t;
    names += (names.empty() ? "" : ", ") + std::string(t.name);
  }
  if (!chosen)
    return report(util::make_error(util::ErrorCode::Usage, "unknown template \"" + opts.name + "\" (choose one of " + names + ")"));
  std::filesystem::path target = ctx.file.empty() ? std::filesystem::path("Matchlockfile") : std::filesystem::path(ctx.file);
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(target, ec)) && !opts.force)
    return report(util::make_error(util::ErrorCode::Usage, target.string() + " already exists (use --force to overwrite)"));
  auto written = util::write_file_atomic(target, without_schema_header(chosen->content));
  if (!written) return report(written.error());
  if (!ctx.quiet)
    std::printf("wrote %s from template \"%s\"; check it with: matchlock validate\n", target.c_str(),
                std::string(chosen->name).c_str());
  return k_exit_ok;
}

}  // namespace

void register_init(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand("init", "Write a Matchlockfile from a template (refuses to overwrite without --force)");
  sub->add_option("-t,--template", opts->name, "Template name (see --list)")->capture_default_str();
  sub->add_flag("--force", opts->force, "Overwrite an existing file");
  sub->add_flag("--list", opts->list, "List the templates");
  sub->callback([&ctx, opts] { ctx.exit_code = run_init(ctx, *opts); });
}

}  // namespace cmd
