// matchlock CLI entry point: global options, the verb table, one catch-all.
#include <cstdio>
#include <exception>

#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "util/log.hpp"

int main(int argc, char** argv) {
  cmd::Context ctx;
  CLI::App app{"matchlock: run AI coding agents in microVMs, as declared by a Matchlockfile", "matchlock"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("-f,--file", ctx.file, "Matchlockfile to use (default: nearest Matchlockfile)");
  app.add_flag("-v,--verbose", ctx.verbose, "More diagnostics on stderr");
  app.add_flag("-q,--quiet", ctx.quiet, "Only errors on stderr");
  for (auto reg : cmd::k_verbs) reg(app, ctx);
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
