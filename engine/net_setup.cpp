#include "engine/net_setup.hpp"

#include <cstdlib>

#include "util/fs.hpp"
#include "util/process.hpp"

namespace engine {

namespace {

util::Result<std::string> read_secret_value(const Secret& s) {
  auto fail = [&](std::string why) {
    return util::make_error(util::ErrorCode::Config, "secret " + s.name + " (" + s.from_text + "): " + why);
  };
  std::string value;
  switch (s.source) {
    case SecretSource::Env: {
      const char* v = std::getenv(s.source_value.c_str());
      if (!v) return fail("environment variable " + s.source_value + " is not set");
      value = v;
      break;
    }
    case SecretSource::File: {
      std::filesystem::path p = s.source_value;
      if (s.source_value.starts_with("~/")) {
        const char* home = std::getenv("HOME");
        if (!home) return fail("HOME is not set");
        p = std::filesystem::path(home) / s.source_value.substr(2);
      }
      auto text = util::read_file(p);
      if (!text) return fail(text.error().message());
      value = std::move(*text);
      break;
    }
    case SecretSource::Cmd: {
      auto out = util::run_command({"sh", "-c", s.source_value});
      if (!out) return fail(out.error().message());
      if (out->status.shell_code() != 0) return fail("command " + out->status.describe());
      value = std::move(out->out);
      break;
    }
  }
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  if (value.empty()) return fail("the value is empty");
  if (value.find_first_of("\r\n") != std::string::npos) return fail("the value spans several lines");
  return value;
}

}  // namespace

net::Policy network_policy(const Config& config) {
  const NetworkPolicy& n = config.network;
  net::Policy policy(n.allow, n.deny, n.block_private ? net::BlockPrivate::Yes : net::BlockPrivate::No);
  for (const auto& s : config.secrets) policy.add_secret_hosts(s.name, s.hosts);
  for (const auto& s : n.services) policy.add_service(s.endpoint());
  return policy;
}

util::Result<std::shared_ptr<net::SecretTable>> load_secrets(const Config& config) {
  auto table = std::make_shared<net::SecretTable>();
  for (const auto& s : config.secrets) {
    net::SecretBinding b;
    b.name = s.name;
    b.placeholder = ML_TRY(net::generate_placeholder());
    b.value = ML_TRY(read_secret_value(s));
    b.hosts = s.hosts;
    b.inject = {s.inject.header, s.inject.query, s.inject.basic};
    table->add(std::move(b));
  }
  return table;
}

std::filesystem::path audit_path(const util::Dirs& dirs, std::string_view sandbox_name) {
  return dirs.state / "sandboxes" / std::string(sandbox_name) / "audit.jsonl";
}

util::Result<SandboxNetwork> start_sandbox_network(const util::Dirs& dirs, const Config& config,
                                                   const std::filesystem::path& extra_ca,
                                                   std::string_view sandbox_name) {
  SandboxNetwork out;
  net::ProxyOptions opts;
  opts.policy = network_policy(config);
  auto secrets = ML_TRY(load_secrets(config));
  for (const auto& b : secrets->bindings()) out.guest_env[b.name] = b.placeholder;
  opts.secrets = secrets;
  opts.ca = ML_TRY_CTX(net::SandboxCa::create(config.name), "sandbox CA");
  out.ca_pem = opts.ca->cert_pem();
  opts.extra_ca_file = extra_ca;
  auto audit = ML_TRY(net::Audit::open(audit_path(dirs, sandbox_name.empty() ? config.name : sandbox_name)));
  out.audit = std::make_shared<net::Audit>(std::move(audit));
  opts.audit = out.audit;
  out.name_allowed = net::dns_filter(opts.policy, out.audit);
  out.proxy = ML_TRY(net::Proxy::create(std::move(opts)));
  return out;
}

}  // namespace engine
