#include "engine/net_setup.hpp"

#include <openssl/crypto.h>

#include <cstdlib>

#include "util/fs.hpp"
#include "util/process.hpp"

namespace engine {

namespace {

// A value larger than this is no credential (and a file: source naming /dev/zero is no hang).
constexpr size_t k_max_secret_bytes = 1 << 20;

util::Result<std::string> read_secret_value(const Secret& s) {
  auto fail = [&](std::string why) {
    return util::make_error(util::ErrorCode::Config, "secret " + s.name + " (" + s.from_text + "): " + why);
  };
  const bool document = !s.json.empty();  // a JSON document: several lines are fine
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
      std::error_code ec;
      auto status = std::filesystem::status(p, ec);
      if (!ec && !std::filesystem::is_regular_file(status)) return fail(p.string() + " is not a regular file");
      if (!ec && std::filesystem::file_size(p, ec) > k_max_secret_bytes)
        return fail(p.string() + " is larger than 1 MiB");
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
  if (value.size() > k_max_secret_bytes) return fail("the value is larger than 1 MiB");
  if (!document && value.find_first_of("\r\n") != std::string::npos) return fail("the value spans several lines");
  return value;
}

}  // namespace

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
    raw[i] = ML_TRY(read_secret_value(s));
    auto bind = [&](std::string name, std::string value) -> util::Result<void> {
      net::SecretBinding b;
      b.name = std::move(name);
      b.placeholder = ML_TRY(net::generate_placeholder());
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
