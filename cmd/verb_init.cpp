// matchlock init [--agent NAME] [--project KIND] [--template NAME] [--force] [--list]:
// writes a Matchlockfile (./Matchlockfile, or -f PATH) composed for the project in
// the current directory and the agent asked for (cmd/init_compose.hpp), or copied
// from one of the embedded example templates with --template.
#include <cstdio>
#include <filesystem>

#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/init_compose.hpp"
#include "cmd/init_templates.hpp"
#include "cmd/verbs.hpp"
#include "util/atomic_file.hpp"

namespace cmd {

namespace {

struct Options {
  std::string name;     // --template
  std::string agent;    // --agent
  std::string project;  // --project (default: detected)
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
    for (const auto& t : templates)
      std::printf("%-12s %s\n", std::string(t.name).c_str(), std::string(describe(t.content)).c_str());
    return k_exit_ok;
  }
  if (!opts.name.empty() && (!opts.agent.empty() || !opts.project.empty()))
    return report(util::make_error(util::ErrorCode::Usage,
                                   "--template takes a file as it is; --agent and --project compose one"));
  if (!known_agent(opts.agent))
    return report(util::make_error(util::ErrorCode::Usage,
                                   "unknown agent \"" + opts.agent + "\" (choose one of " + k_agents + ")"));
  std::filesystem::path target =
      ctx.file.empty() ? std::filesystem::path("Matchlockfile") : std::filesystem::path(ctx.file);
  std::string text, what;
  if (!opts.name.empty()) {
    const InitTemplate* chosen = nullptr;
    std::string names;
    for (const auto& t : templates) {
      if (t.name == opts.name) chosen = &t;
      names += (names.empty() ? "" : ", ") + std::string(t.name);
    }
    if (!chosen)
      return report(util::make_error(util::ErrorCode::Usage,
                                     "unknown template \"" + opts.name + "\" (choose one of " + names + ")"));
    text = without_schema_header(chosen->content);
    what = "from template \"" + std::string(chosen->name) + "\"";
  } else {
    // The project is the one the Matchlockfile will sit in.
    std::error_code ec;
    auto dir = std::filesystem::absolute(target, ec).parent_path();
    Project project = detect_project(dir);
    if (!opts.project.empty()) {
      auto kind = parse_project_kind(opts.project);
      if (!kind)
        return report(util::make_error(util::ErrorCode::Usage, "unknown project kind \"" + opts.project +
                                                                   "\" (choose one of " + k_project_kinds + ")"));
      if (*kind != project.kind) project = Project{*kind, "--project", false, false, false, project.git};
    }
    text = compose_matchlockfile(project, opts.agent);
    what = std::string("for ") + (project.kind == ProjectKind::Generic ? "a Debian sandbox"
                                                                       : std::string("a ") + to_string(project.kind) +
                                                                             " project (" + project.marker + ")");
    if (!opts.agent.empty() && opts.agent != "none") what += " with " + opts.agent;
  }
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(target, ec)) && !opts.force)
    return report(
        util::make_error(util::ErrorCode::Usage, target.string() + " already exists (use --force to overwrite)"));
  auto written = util::write_file_atomic(target, text);
  if (!written) return report(written.error());
  if (!ctx.quiet) std::printf("wrote %s %s; check it with: matchlock validate\n", target.c_str(), what.c_str());
  return k_exit_ok;
}

}  // namespace

void register_init(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "init", "Write a Matchlockfile for this project (node, python, go) and an agent, or from a template");
  sub->add_option("-a,--agent", opts->agent,
                  "The agent to set up: install task, its API key as a secret, a task that starts it")
      ->type_name(k_agents);
  sub->add_option("--project", opts->project,
                  "The project's kind (default: detected from package.json, pyproject.toml, go.mod)")
      ->type_name(k_project_kinds);
  sub->add_option("-t,--template", opts->name, "Copy an example template instead (see --list)")
      ->type_name(k_type_template);
  sub->add_flag("--force", opts->force, "Overwrite an existing file");
  sub->add_flag("--list", opts->list, "List the templates");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, opts]() -> util::Result<int> { return run_init(ctx, *opts); }));
}

}  // namespace cmd
