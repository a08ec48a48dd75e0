#include "engine/net_setup.hpp"

#include <openssl/crypto.h>

#include <cstdlib>

#include "util/fs.hpp"
#include "util/process.hpp"

namespace engine {

namespace {

// A value larger than this is no credential (and a file: source naming /dev/zero is no hang).
constexpr size_t k_max_secret_bytes = 1 << 20;

util::Error secret_error(const Secret& s, std::string why) {
  return util::make_error(util::ErrorCode::Config, "secret " + s.name + " (" + s.from_text + "): " + why);
}

// What every source's bytes must look like to be a value: a trailing newline is dropped.
util::Result<std::string> finish_secret_value(const Secret& s, std::string value) {
  auto fail = [&](std::string why) {
    OPENSSL_cleanse(value.data(), value.size());
    return secret_error(s, std::move(why));
  };
  const bool document = !s.json.empty();  // a JSON document: several lines are fine
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  if (value.empty()) return fail("the value is empty");
  if (value.size() > k_max_secret_bytes) return fail("the value is larger than 1 MiB");
  if (!document && value.find_first_of("\r\n") != std::string::npos) return fail("the value spans several lines");
  return value;
}

}  // namespace

util::Result<std::string> read_secret_file(const Secret& s, const std::filesystem::path& p) {
  auto fail = [&](std::string why) { return secret_error(s, std::move(why)); };
  std::error_code ec;
  auto status = std::filesystem::status(p, ec);
  if (!ec && !std::filesystem::is_regular_file(status)) return fail(p.string() + " is not a regular file");
  if (!ec && std::filesystem::file_size(p, ec) > k_max_secret_bytes) return fail(p.string() + " is larger than 1 MiB");
  auto text = util::read_file(p);
  if (!text) return fail(text.error().message());
  return std::move(*text);
}

util::Result<std::string> read_local_secret(const Config& config, const Secret& s) {
  auto fail = [&](std::string why) { return secret_error(s, std::move(why)); };
  switch (s.source) {
    case SecretSource::Env: {
      const char* v = std::getenv(s.source_value.c_str());
      if (!v) return fail("environment variable " + s.source_value + " is not set");
      return std::string(v);
    }
    case SecretSource::File: {
      std::filesystem::path p = s.source_value;
      if (s.source_value.starts_with("~/")) {
        const char* home = std::getenv("HOME");
        if (!home) return fail("HOME is not set");
        p = std::filesystem::path(home) / s.source_value.substr(2);
      }
      return read_secret_file(s, p);
    }
    case SecretSource::Cmd: {
      auto out = util::run_command({"sh", "-c", s.source_value});
      if (!out) return fail(out.error().message());
      if (out->status.shell_code() != 0) return fail("command " + out->status.describe());
      return std::move(out->out);
    }
    case SecretSource::K8s:
      return util::make_error(util::ErrorCode::Config,
                              config.file.string() + ":" + std::to_string(s.pos.line) + ": secrets." + s.name +
                                  ".from \"" + s.from_text +
                                  "\": k8s: secrets exist only in a cluster gateway (matchlock gateway, docs/gateway.md)");
  }
  return fail("unknown source");
}


util::Result<void> refuse_cluster_secrets(const Config& config) {
  for (const auto& s : config.secrets)
    if (s.source == SecretSource::K8s) return std::move(read_local_secret(config, s)).error();
  return util::ok();
}

net::Policy network_policy(const Config& config) {
  const NetworkPolicy& n = config.network;
  net::Policy policy(n.allow, n.deny, n.block_private ? net::BlockPrivate::Yes : net::BlockPrivate::No);
  for (const auto& s : config.secrets) policy.add_secret_hosts(s.name, s.hosts);
  for (const auto& s : n.services) policy.add_service(s.endpoint());
  // The machine's policy.toml (engine/machine_policy.hpp): its deny wins like any deny.
  policy.add_rules(net::Verdict::Deny, config.policy.deny, "policy.toml network.deny");
  policy.add_rules(net::Verdict::Allow, config.policy.allow, "policy.toml network.allow");
  return policy;
}

util::Result<LoadedSecrets> load_secrets(const Config& config) {
  return bind_secrets(
      config, [&config](const Secret& s) { return read_local_secret(config, s); },
      [](std::string_view) { return net::generate_placeholder(); }, SecretFiles::Render);
}

util::Result<LoadedSecrets> bind_secrets(const Config& config, const SecretReader& read,
                                         const PlaceholderSource& placeholder, SecretFiles files) {
  LoadedSecrets out;
  out.table = std::make_shared<net::SecretTable>();
  std::vector<std::string> raw(config.secrets.size());  // wiped below, whatever happens
  struct Wipe {
    std::vector<std::string>& v;
    ~Wipe() {
      for (auto& s : v)
        if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
    }
  } wipe{raw};
  for (size_t i = 0; i < config.secrets.size(); ++i) {
    const Secret& s = config.secrets[i];
    std::string bytes = ML_TRY(read(s));
    raw[i] = ML_TRY(finish_secret_value(s, std::move(bytes)));
    auto bind = [&](std::string name, std::string value) -> util::Result<void> {
      net::SecretBinding b;
      b.placeholder = ML_TRY(placeholder(name));
      b.name = std::move(name);
      b.value = std::move(value);
      b.hosts = s.hosts;
      b.inject = {s.inject.header, s.inject.query, s.inject.basic};
      b.refresh_url = s.refresh_url;
      out.table->add(std::move(b));
      return util::ok();
    };
    if (s.json.empty()) {
      ML_TRY(bind(s.name, raw[i]));
      continue;
    }
    // A JSON document: each listed field is a secret of its own (engine/secret_files.hpp).
    for (auto& [field, value] : ML_TRY(json_secret_fields(s, raw[i])))
      ML_TRY(bind(s.name + "." + field, std::move(value)));
  }
  for (const auto& b : out.table->bindings())
    if (config.find_secret(b.name)) out.env[b.name] = b.placeholder;  // json fields ("NAME.f") have no variable
  if (files == SecretFiles::Render)
    for (size_t i = 0; i < config.secrets.size(); ++i)
      if (!config.secrets[i].file.empty())
        out.files.push_back(ML_TRY(render_secret_file(config.secrets[i], raw[i], *out.table)));
  return out;
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
  out.guest_env = std::move(secrets.env);
  out.guest_files = std::move(secrets.files);
  opts.secrets = secrets.table;
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
