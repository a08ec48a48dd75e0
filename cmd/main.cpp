// matchlock CLI entry point: global options, the verb table, one catch-all.
#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "util/log.hpp"

namespace cmd {

// The first non-option argument when it names no verb, else nullptr.
static const char* unknown_verb(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "-f" || a == "--file") {
      ++i;
      continue;
    }
    if (a.starts_with("-")) continue;
    for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
      if (sub->get_name() == a) return nullptr;
    return argv[i];
  }
  return nullptr;
}

// For `run` and `exec`: everything after the first `--` that follows the verb
// goes to CTX.after_dashdash and is cut from ARGS (CLI11 2.1 drops or rejects
// words after `--` when positionals precede it).
static void split_dashdash(std::vector<char*>& args, Context& ctx) {
  size_t i = 1;
  for (; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "-f" || a == "--file") {
      ++i;
      continue;
    }
    if (!a.starts_with("-")) break;
  }
  if (i >= args.size() || (std::string_view(args[i]) != "run" && std::string_view(args[i]) != "exec")) return;
  for (size_t j = i + 1; j < args.size(); ++j) {
    if (std::string_view(args[j]) != "--") continue;
    ctx.after_dashdash.emplace(args.begin() + static_cast<std::ptrdiff_t>(j) + 1, args.end());
    args.resize(j);
    return;
  }
}

}  // namespace cmd

int main(int argc, char** argv) {
  cmd::Context ctx;
  CLI::App app{"matchlock: run AI coding agents in microVMs, as declared by a Matchlockfile", "matchlock"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("-f,--file", ctx.file, "Matchlockfile to use (default: nearest Matchlockfile)")
      ->type_name(cmd::k_type_file);
  app.add_flag("-v,--verbose", ctx.verbose, "More diagnostics on stderr");
  app.add_flag("-q,--quiet", ctx.quiet, "Only errors on stderr");
  // Runs after the options are parsed, before any verb's callback: -q silences
  // pull progress and info lines everywhere, -v shows debug lines.
  app.parse_complete_callback([&ctx] {
    using util::log::Level;
    util::log::set_level(ctx.quiet ? Level::Quiet : ctx.verbose ? Level::Verbose : Level::Normal);
  });
  for (auto reg : cmd::k_verbs) reg(app, ctx);
  if (argc >= 2 && std::string_view(argv[1]) == "__complete")
    return cmd::run_complete(app, ctx, std::vector<std::string>(argv + 2, argv + argc));
  std::vector<char*> args(argv, argv + argc);
  cmd::split_dashdash(args, ctx);
  argc = static_cast<int>(args.size());
  argv = args.data();
  if (const char* verb = cmd::unknown_verb(app, argc, argv)) {
    std::fprintf(stderr, "matchlock: error: unknown command \"%s\" (see matchlock --help)\n", verb);
    return cmd::k_exit_usage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return cmd::k_exit_usage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "matchlock: error: %s\n", e.what());
    return cmd::k_exit_failure;
  }
  return ctx.exit_code;
}
