// The verb table: each verb lives in its own verb_NAME.cpp and registers its
// subcommand here. Verbs are thin: parse, call the engine, print.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cmd/context.hpp"

namespace cmd {

using VerbRegistrar = void (*)(CLI::App& app, Context& ctx);

void register_version(CLI::App& app, Context& ctx);
void register_doctor(CLI::App& app, Context& ctx);
void register_init(CLI::App& app, Context& ctx);
void register_validate(CLI::App& app, Context& ctx);
void register_config(CLI::App& app, Context& ctx);
void register_kernel(CLI::App& app, Context& ctx);
void register_run(CLI::App& app, Context& ctx);
void register_pull(CLI::App& app, Context& ctx);
void register_images(CLI::App& app, Context& ctx);
void register_rmi(CLI::App& app, Context& ctx);
void register_gc(CLI::App& app, Context& ctx);
void register_lock(CLI::App& app, Context& ctx);
void register_up(CLI::App& app, Context& ctx);
void register_exec(CLI::App& app, Context& ctx);
void register_shell(CLI::App& app, Context& ctx);
void register_ps(CLI::App& app, Context& ctx);
void register_logs(CLI::App& app, Context& ctx);
void register_tasks(CLI::App& app, Context& ctx);
void register_down(CLI::App& app, Context& ctx);
void register_fetch_branch(CLI::App& app, Context& ctx);
void register_diff(CLI::App& app, Context& ctx);    // cmd/verb_snapshot.cpp
void register_export(CLI::App& app, Context& ctx);  // cmd/verb_snapshot.cpp
void register_rm(CLI::App& app, Context& ctx);
void register_supervise(CLI::App& app, Context& ctx);
void register_net(CLI::App& app, Context& ctx);
void register_gateway(CLI::App& app, Context& ctx);
void register_port(CLI::App& app, Context& ctx);
void register_volume(CLI::App& app, Context& ctx);
void register_render(CLI::App& app, Context& ctx);      // cmd/verb_render.cpp
void register_completion(CLI::App& app, Context& ctx);  // cmd/verb_completion.cpp
void register_man(CLI::App& app, Context& ctx);         // cmd/verb_completion.cpp

// `matchlock __complete WORD...`, answered before CLI11 parses (main.cpp).
int run_complete(const CLI::App& app, const Context& ctx, const std::vector<std::string>& words);

inline constexpr VerbRegistrar k_verbs[] = {
    register_version, register_doctor,     register_init,  register_validate,  register_config,
    register_kernel,  register_run,        register_pull,  register_images,    register_rmi,
    register_gc,      register_lock,       register_up,    register_exec,      register_shell,
    register_ps,      register_logs,       register_tasks, register_down,      register_fetch_branch,
    register_diff,    register_export,     register_rm,    register_supervise, register_net,
    register_port,    register_completion, register_man,   register_volume,    register_render,
    register_gateway,
};

}  // namespace cmd
