// `matchlock port [NAME] [GUEST[:HOST]] [--rm] [--json]`: forward a port the guest opens to
// 127.0.0.1 on the host while the sandbox runs (an OAuth callback to localhost:PORT inside
// the guest, a dev server started after `up`), list the forwards, or remove one.
// With one argument, a GUEST[:HOST] is the port and anything else the sandbox name.
#include <memory>
#include <nlohmann/json.hpp>

#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/lifecycle.hpp"
#include "engine/sandbox_ports.hpp"

namespace cmd {

namespace {

struct PortArgs {
  std::vector<std::string> words;  // [NAME] [GUEST[:HOST]]
  bool remove = false;
  bool json = false;
};

void print_forwards(const std::vector<engine::PortForward>& ports, bool as_json) {
  if (as_json) {
    auto j = nlohmann::json::array();
    for (const auto& p : ports)
      j.push_back({{"host", p.host}, {"guest", p.guest}, {"origin", engine::to_string(p.origin)}});
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  if (ports.empty()) std::printf("# no forwarded ports (add one: matchlock port GUEST[:HOST])\n");
  for (const auto& p : ports)
    std::printf("127.0.0.1:%u -> guest 127.0.0.1:%u  (%s)\n", p.host, p.guest, engine::to_string(p.origin));
}

util::Result<void> port_verb(const Context& ctx, const PortArgs& a) {
  std::string name, spec_text;
  if (a.words.size() > 2)
    return util::make_error(util::ErrorCode::Usage, "usage: matchlock port [NAME] [GUEST[:HOST]]");
  if (a.words.size() == 2) {
    name = a.words[0];
    spec_text = a.words[1];
  } else if (a.words.size() == 1) {
    (engine::looks_like_port_spec(a.words[0]) ? spec_text : name) = a.words[0];
  }
  if (name.empty()) name = ML_TRY(engine::resolve_target(ctx.file, "")).name;
  if (spec_text.empty()) {
    if (a.remove) return util::make_error(util::ErrorCode::Usage, "--rm needs the GUEST[:HOST] port to remove");
    print_forwards(ML_TRY(engine::list_ports(ctx.dirs, name)), a.json);
    return util::ok();
  }
  auto spec = ML_TRY(engine::parse_port_spec(spec_text));
  if (a.remove) {
    bool host_given = spec_text.find(':') != std::string::npos;
    auto gone = ML_TRY(engine::remove_ports(ctx.dirs, name, spec.guest, host_given ? spec.host : 0));
    for (const auto& p : gone)
      if (!a.json) std::printf("removed 127.0.0.1:%u -> guest 127.0.0.1:%u\n", p.host, p.guest);
    if (a.json) print_forwards(gone, true);
    return util::ok();
  }
  auto added = ML_TRY(engine::add_port(ctx.dirs, name, spec));
  if (a.json)
    print_forwards({added}, true);
  else
    std::printf("127.0.0.1:%u -> guest 127.0.0.1:%u\n", added.host, added.guest);
  return util::ok();
}

}  // namespace

void register_port(CLI::App& app, Context& ctx) {
  auto* sub = app.add_subcommand(
      "port", "Forward a guest port to 127.0.0.1 on the host while the sandbox runs; list or remove forwards");
  auto a = std::make_shared<PortArgs>();
  sub->add_option("args", a->words,
                  "[NAME] [GUEST[:HOST]]: sandbox (default: the Matchlockfile's) and port; "
                  "HOST defaults to GUEST, 0 picks a free port; none: list");
  sub->add_flag("--rm", a->remove, "Stop forwarding GUEST (from HOST only, when given)");
  sub->add_flag("--json", a->json, "Print JSON");
  sub->callback(verb_callback(ctx.exit_code, [&ctx, a]() -> util::Result<int> {
    auto r = port_verb(ctx, *a);
    if (!r) return r.error().context("port");
    return k_exit_ok;
  }));
}

}  // namespace cmd
