#include "engine/gateway.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "engine/config_parse.hpp"
#include "net/gateway.hpp"
#include "net/health_server.hpp"
#include "util/descriptors.hpp"
#include "util/log.hpp"
#include "util/signal_fd.hpp"

namespace engine {

util::Result<void> serve_gateway(const GatewayServe& serve) {
  ::signal(SIGPIPE, SIG_IGN);  // a client that went away must not kill the gateway
  // Blocked before any thread starts, so every thread inherits the mask (util/signal_fd.hpp).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return util::sys_error("sigprocmask");
  auto signals = ML_TRY(util::SignalFd::create(set));

  auto health_listener = ML_TRY_CTX(net::listen_tcp(serve.health), "--health");
  auto health = ML_TRY_CTX(net::HealthServer::start(std::move(health_listener)), "--health");
  Config config = ML_TRY(load_config(serve.matchlockfile));
  std::vector<std::string> warnings;
  net::ProxyOptions opts = ML_TRY(gateway_proxy_options(config, serve.settings, warnings));
  for (const auto& w : warnings) util::log::warn("gateway: " + w);
  util::Fd out(::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3));
  if (!out) return util::sys_error("dup stdout");
  opts.audit = std::make_shared<net::Audit>(net::Audit::to_stream(std::move(out)));
  opts.max_flows = serve.max_clients;
  opts.head_timeout = serve.head_timeout;
  opts.first_bytes_timeout = serve.idle_timeout;
  size_t secrets = opts.secrets ? opts.secrets->bindings().size() : 0;
  net::GatewayLimits limits;
  limits.max_per_peer = serve.max_per_client;
  auto listener = ML_TRY_CTX(net::listen_tcp(serve.listen), "--listen");
  auto gateway = ML_TRY(net::Gateway::create(std::move(opts), limits, std::move(listener)));
  health->set_ready(true);
  util::log::info("gateway: " + config.file.string() + ": listening on " + serve.listen + ", health on " +
                  serve.health + ", " + std::to_string(secrets) + " secret binding(s)");
  ML_TRY(gateway->run(signals.fd()));
  health->set_ready(false);
  util::log::info("gateway: stopped");
  return util::ok();
}

}  // namespace engine
