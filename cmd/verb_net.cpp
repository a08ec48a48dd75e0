// matchlock net log|why|suggest: what the sandbox's network policy did and would do.
//   log [-f] [--json] [--name N]  the audit JSONL of a sandbox (default: the Matchlockfile's name)
//   why HOST[:PORT]               evaluates the current Matchlockfile's policy, no sandbox needed
//   suggest [--name N]            allow entries that would have permitted the denied attempts
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/config_parse.hpp"
#include "engine/discover.hpp"
#include "engine/machine_policy.hpp"
#include "engine/net_setup.hpp"
#include "net/audit.hpp"
#include "net/policy.hpp"
#include "util/terminal_text.hpp"

namespace cmd {

namespace {

util::Result<engine::Config> current_config(const Context& ctx) {
  auto file = ML_TRY(engine::discover_matchlockfile(ctx.file, std::filesystem::current_path()));
  return engine::load_config(file);
}

util::Result<std::string> sandbox_name(const Context& ctx, const std::string& explicit_name) {
  if (!explicit_name.empty()) return explicit_name;
  auto config = ML_TRY_CTX(current_config(ctx), "no --name given and no Matchlockfile to take it from");
  return config.name;
}

std::string format_event(const net::AuditEvent& e) {
  std::string target = e.name.empty() ? e.address : e.name;
  target += ":" + std::to_string(e.port);
  char head[96];
  std::snprintf(head, sizeof head, "%-24s  %-4s  %-5s ", e.time.c_str(), net::to_string(e.kind),
                e.allowed ? "allow" : "DENY");
  std::string line = head + target;
  if (e.kind == net::AuditKind::Http)
    line += " " + e.method + " " + e.path + (e.status ? " -> " + std::to_string(e.status) : "");
  if (e.intercepted && e.kind != net::AuditKind::Http) line += " (intercepted)";
  if (!e.secrets.empty()) {
    line += " secrets=";
    for (size_t i = 0; i < e.secrets.size(); ++i) line += (i ? "," : "") + e.secrets[i];
  }
  if (!e.scrubbed.empty()) {
    line += " scrubbed=";
    for (size_t i = 0; i < e.scrubbed.size(); ++i) line += (i ? "," : "") + e.scrubbed[i];
  }
  if (e.bytes_up || e.bytes_down) line += " up=" + std::to_string(e.bytes_up) + " down=" + std::to_string(e.bytes_down);
  if (!e.allowed) line += "  [" + e.reason + "]";
  return util::terminal_text(line);  // names, paths and reasons may hold any byte the guest sent
}

// Prints complete lines from FILE starting at OFFSET; returns the new offset.
size_t print_lines(const std::filesystem::path& file, size_t offset, bool json) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return offset;
  in.seekg(static_cast<std::streamoff>(offset));
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // a partial last line: read it next time
    offset += line.size() + 1;
    if (json) {
      std::printf("%s\n", line.c_str());
      continue;
    }
    auto e = net::parse_audit_line(line);
    std::printf("%s\n", e ? format_event(*e).c_str() : ("? " + util::terminal_text(line)).c_str());
  }
  std::fflush(stdout);
  return offset;
}

void register_log(CLI::App& net, Context& ctx) {
  struct Opts {
    bool follow = false, json = false;
    std::string name;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = net.add_subcommand("log", "Show the sandbox's network audit log");
  sub->add_flag("-f,--follow", o->follow, "Keep printing new records");
  sub->add_flag("--json", o->json, "Print the JSONL records as stored");
  sub->add_option("--name", o->name, "Sandbox name (default: the Matchlockfile's name)")->type_name(k_type_sandbox);
  sub->callback(verb_callback(ctx.exit_code, [&ctx, o]() -> util::Result<int> {
    auto name = sandbox_name(ctx, o->name);
    if (!name) return name.error();
    auto path = engine::audit_path(ctx.dirs, *name);
    if (!o->follow && !std::filesystem::exists(path)) {
      std::fprintf(stderr, "matchlock: no network activity recorded for sandbox %s (%s)\n", name->c_str(),
                   path.c_str());
      return k_exit_ok;
    }
    size_t offset = print_lines(path, 0, o->json);
    while (o->follow) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      offset = print_lines(path, offset, o->json);
    }
    return k_exit_ok;
  }));
}

void register_why(CLI::App& net, Context& ctx) {
  auto target_text = std::make_shared<std::string>();
  auto* sub = net.add_subcommand("why", "Explain whether the Matchlockfile's policy lets HOST[:PORT] out, and why");
  sub->add_option("target", *target_text, "HOST, HOST:PORT, ADDRESS or ADDRESS:PORT")
      ->required()
      ->type_name("HOST[:PORT]");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, target_text]() -> util::Result<int> {
    auto target = net::parse_target(*target_text);
    if (!target) return util::make_error(util::ErrorCode::Usage, "not a HOST[:PORT]: " + *target_text);
    auto config = current_config(ctx);
    if (config) {  // the machine's policy.toml: its deny and allow rules count too
      if (auto bounded = engine::bound_by_machine_policy(ctx.dirs, *config); !bounded)
        config = std::move(bounded).error();
    }
    if (!config) return config.error();
    net::Policy policy = engine::network_policy(*config);
    auto address = net::parse_ipv4(target->host);
    if (!address) {
      auto dns = policy.decide_dns(target->host);
      std::printf("dns   %s %s: %s\n", dns.allowed() ? "resolves" : "NXDOMAIN", target->host.c_str(),
                  util::terminal_text(dns.reason).c_str());
    }
    std::vector<uint16_t> ports;
    if (target->port)
      ports.push_back(target->port);
    else
      ports = {443, 80};
    for (uint16_t port : ports) {
      auto d = address ? policy.decide_address(*address, port) : policy.decide_name(target->host, port);
      std::printf("tcp   %s %s:%u: %s\n", d.allowed() ? "allow" : "DENY ", target->host.c_str(), port,
                  util::terminal_text(d.reason).c_str());
      // A deny from the machine's policy.toml cannot be lifted in the Matchlockfile: no hint.
      if (!d.allowed() && (d.rule.empty() || d.reason.find("policy.toml") == std::string::npos))
        std::printf("      %s\n", net::allow_hint(target->host, port, d).c_str());
      for (const auto& s : config->secrets)
        for (const auto& r : s.hosts)
          if (!address && net::matches(r, target->host, port)) {
            std::printf("      secret %s is injected here (TLS intercepted with the sandbox CA; rule \"%s\")\n",
                        s.name.c_str(), r.to_string().c_str());
            break;
          }
    }
    return k_exit_ok;
  }));
}

void register_suggest(CLI::App& net, Context& ctx) {
  auto name_opt = std::make_shared<std::string>();
  auto* sub =
      net.add_subcommand("suggest", "Print [network].allow entries that would have permitted the denied attempts");
  sub->add_option("--name", *name_opt, "Sandbox name (default: the Matchlockfile's name)")->type_name(k_type_sandbox);
  sub->callback(verb_callback(ctx.exit_code, [&ctx, name_opt]() -> util::Result<int> {
    auto name = sandbox_name(ctx, *name_opt);
    if (!name) return name.error();
    std::optional<net::Policy> policy;
    if (auto config = current_config(ctx)) policy = engine::network_policy(*config);
    std::ifstream in(engine::audit_path(ctx.dirs, *name));
    std::map<std::string, std::set<std::string>> suggestions;  // rule -> kinds seen
    std::string line;
    while (std::getline(in, line)) {
      auto e = net::parse_audit_line(line);
      // Only default denials are fixed by an allow entry (not deny rules, not secret refusals).
      if (!e || e->allowed || !e->rule.empty() || e->reason.find("[network].allow") == std::string::npos) continue;
      std::string host = e->name.empty() ? e->address : e->name;
      if (!net::parse_ipv4(host) && !net::is_valid_hostname(host)) continue;  // no rule could allow it
      uint16_t port = e->kind == net::AuditKind::Dns ? 0 : e->port;
      std::string rule = net::suggest_rule(host, port);
      if (policy) {
        auto a = net::parse_ipv4(host);
        auto d = e->kind == net::AuditKind::Dns ? policy->decide_dns(host)
                 : a                            ? policy->decide_address(*a, port)
                                                : policy->decide_name(host, port);
        if (d.allowed()) continue;  // already allowed by the current file
      }
      suggestions[rule].insert(net::to_string(e->kind));
    }
    if (suggestions.empty()) {
      std::printf("# nothing to suggest: no denied attempt that an allow entry would permit\n");
      return k_exit_ok;
    }
    std::printf("[network]\nallow = [\n");
    for (const auto& [rule, kinds] : suggestions) {
      std::string k;
      for (const auto& x : kinds) k += (k.empty() ? "" : ", ") + x;
      std::printf("  \"%s\",  # denied: %s\n", rule.c_str(), k.c_str());
    }
    std::printf("]\n");
    return k_exit_ok;
  }));
}

}  // namespace

void register_net(CLI::App& app, Context& ctx) {
  auto* net = app.add_subcommand("net", "Network policy: audit log, explanations, suggestions");
  net->require_subcommand(1);
  register_log(*net, ctx);
  register_why(*net, ctx);
  register_suggest(*net, ctx);
}

}  // namespace cmd
