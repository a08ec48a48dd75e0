// matchlock gateway: the sandbox proxy as a standalone explicit HTTP proxy for clients that
// are not captured transparently (Kubernetes sandbox pods; docs/gateway.md).
//   matchlock gateway -f Matchlockfile [--listen A:P] [--health A:P] [--placeholders FILE]
//                     [--ca-dir DIR] [--secrets-root DIR] [--secret NAME=SECRET/KEY ...]
//                     [--network-ca FILE]
//   matchlock gateway init-ca DIR
#include <cstdio>
#include <filesystem>

#include "cmd/complete.hpp"
#include "cmd/exit_code.hpp"
#include "cmd/verbs.hpp"
#include "engine/discover.hpp"
#include "engine/gateway.hpp"

namespace cmd {

namespace {

struct Options {
  engine::GatewayServe serve;
  std::string placeholders, ca_dir, network_ca, secrets_root = engine::k_default_secrets_root;
  std::string init_ca_dir;
  double head_timeout_s = 10;
};

}  // namespace

void register_gateway(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "gateway", "Serve the Matchlockfile's network policy and secrets as an explicit HTTP proxy (Kubernetes)");
  sub->add_option("--listen", opts->serve.listen, "Proxy address (default 0.0.0.0:3128)")->type_name("ADDR:PORT");
  sub->add_option("--health", opts->serve.health, "Health address: GET /healthz, /readyz (default 0.0.0.0:8080)")
      ->type_name("ADDR:PORT");
  sub->add_option("--placeholders", opts->placeholders, "JSON {\"SECRET\": \"MATCHLOCK_SECRET_...\"} the pods carry")
      ->type_name(k_type_file);
  sub->add_option("--ca-dir", opts->ca_dir, "Directory with tls.crt and tls.key of the CA for intercepted hosts")
      ->type_name(k_type_dir);
  sub->add_option("--secrets-root", opts->secrets_root,
                  "Where Kubernetes Secrets are mounted: k8s:SECRET/KEY is ROOT/SECRET/KEY (default " +
                      std::string(engine::k_default_secrets_root) + ")")
      ->type_name(k_type_dir);
  sub->add_option("--network-ca", opts->network_ca,
                  "The PEM file [network].ca names, at this path (the Matchlockfile's path is its author's)")
      ->type_name(k_type_file);
  sub->add_option("--secret", opts->serve.settings.secret_maps, "Read secret NAME from ROOT/SECRET/KEY (repeatable)")
      ->type_name("NAME=SECRET/KEY");
  sub->add_option("--max-clients", opts->serve.max_clients, "Concurrent clients in all (default 1024)")
      ->type_name("N")
      ->check(CLI::Range(1, 65536));
  sub->add_option("--max-per-client", opts->serve.max_per_client,
                  "Concurrent connections from one address (default 64)")
      ->type_name("N")
      ->check(CLI::Range(1, 65536));
  sub->add_option("--head-timeout", opts->head_timeout_s,
                  "Seconds a client may take to send its request head (default 10)")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.1, 3600.0));
  auto* init =
      sub->add_subcommand("init-ca", "Create a gateway CA: DIR/tls.crt and DIR/tls.key (0600), never overwritten");
  init->add_option("dir", opts->init_ca_dir, "Directory (created if missing)")->required()->type_name(k_type_dir);
  init->callback(verb_callback(ctx.exit_code, [opts]() -> util::Result<int> {
    auto cert = ML_TRY(engine::init_gateway_ca(opts->init_ca_dir));
    std::printf("%s\n%s\n", cert.string().c_str(), (cert.parent_path() / engine::k_ca_key_file).string().c_str());
    std::fprintf(stderr,
                 "gateway CA written: the sandbox pods trust %s (a ConfigMap); the key stays with the gateway (a "
                 "kubernetes.io/tls Secret)\n",
                 cert.string().c_str());
    return 0;
  }));
  sub->callback(verb_callback(ctx.exit_code, [&ctx, opts, init]() -> util::Result<int> {
    if (init->parsed()) return ctx.exit_code;  // `gateway init-ca` ran instead
    opts->serve.matchlockfile = ML_TRY(engine::discover_matchlockfile(ctx.file, std::filesystem::current_path()));
    opts->serve.settings.placeholders_file = opts->placeholders;
    opts->serve.settings.ca_dir = opts->ca_dir;
    opts->serve.settings.secrets_root = opts->secrets_root;
    opts->serve.settings.network_ca = opts->network_ca;
    opts->serve.head_timeout = std::chrono::milliseconds(static_cast<long>(opts->head_timeout_s * 1000));
    ML_TRY(engine::serve_gateway(opts->serve));
    return 0;
  }));
}

}  // namespace cmd
