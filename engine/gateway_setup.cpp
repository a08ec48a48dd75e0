#include "engine/gateway_setup.hpp"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <set>

#include "engine/net_setup.hpp"
#include "net/secrets.hpp"
#include "util/atomic_file.hpp"
#include "util/fs.hpp"

namespace engine {

namespace fs = std::filesystem;

util::Result<std::map<std::string, std::string>> parse_placeholders(std::string_view json_text, const fs::path& file) {
  auto fail = [&](std::string why) { return util::make_error(util::ErrorCode::Config, file.string() + ": " + why); };
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    return fail(std::string("not JSON: ") + e.what());
  }
  if (!doc.is_object()) return fail("must be a JSON object {\"SECRET_NAME\": \"MATCHLOCK_SECRET_...\"}");
  std::map<std::string, std::string> out;
  std::set<std::string> seen;
  for (auto& [key, value] : doc.items()) {
    if (!value.is_string()) return fail("\"" + key + "\": the placeholder must be a string");
    std::string p = value.get<std::string>();
    if (!net::is_placeholder(p))
      return fail("\"" + key + "\": not a placeholder (" + std::string(net::k_placeholder_prefix) +
                  " and 32 lowercase hex digits)");
    if (!seen.insert(p).second) return fail("\"" + key + "\": the same placeholder as another secret");
    out[key] = std::move(p);
  }
  return out;
}

util::Result<std::map<std::string, K8sSecretRef>> parse_secret_maps(const std::vector<std::string>& maps) {
  std::map<std::string, K8sSecretRef> out;
  for (const auto& m : maps) {
    auto eq = m.find('=');
    if (eq == std::string::npos || eq == 0)
      return util::make_error(util::ErrorCode::Usage, "--secret \"" + m + "\": must be NAME=SECRET/KEY");
    std::string name = m.substr(0, eq);
    auto ref = parse_k8s_secret_ref(std::string_view(m).substr(eq + 1));
    if (!ref) return util::make_error(util::ErrorCode::Usage, "--secret " + name + ": " + ref.error().message());
    if (!out.emplace(name, std::move(*ref)).second)
      return util::make_error(util::ErrorCode::Usage, "--secret " + name + ": given more than once");
  }
  return out;
}

util::Result<std::string> read_k8s_secret(const Secret& s, const fs::path& root, const K8sSecretRef& ref) {
  auto fail = [&](std::string why) {
    return util::make_error(util::ErrorCode::Config, "secret " + s.name + " (k8s:" + ref.text() + "): " + why);
  };
  std::error_code ec;
  fs::path real_root = fs::canonical(root, ec);
  if (ec) return fail("secrets root " + root.string() + ": " + ec.message());
  fs::path wanted = real_root / ref.secret / ref.key;
  fs::path real = fs::canonical(wanted, ec);
  if (ec)
    return fail(wanted.string() + ": " + ec.message() + " (is the Secret mounted at " + root.string() + "/" +
                ref.secret + "?)");
  auto rel = real.lexically_relative(real_root);
  if (rel.empty() || rel.begin()->string() == ".." || rel.is_absolute())
    return fail(wanted.string() + " leads outside " + root.string() + " (a symlink)");
  // Opened by its resolved path, no symlink followed any more.
  return read_secret_file(s, real);
}

util::Result<net::ProxyOptions> gateway_proxy_options(const Config& config, const GatewaySettings& settings,
                                                      std::vector<std::string>& warnings) {
  Config c = config;
  if (!c.network.services.empty()) {
    warnings.push_back("[network.services] is ignored: a cluster gateway has no host services (its " +
                       std::to_string(c.network.services.size()) + " name(s) under host.internal are refused)");
    c.network.services.clear();
  }
  for (const auto& s : c.secrets)
    if (!s.file.empty())
      warnings.push_back("secrets." + s.name +
                         ".file: the sandbox pod's file comes from the render step, not the "
                         "gateway");
  net::ProxyOptions opts;
  opts.policy = network_policy(c);
  if (!settings.network_ca.empty()) {
    if (c.network.ca.empty())
      return util::make_error(util::ErrorCode::Usage, "--network-ca " + settings.network_ca.string() + ": " +
                                                          c.file.string() + " has no [network].ca for it to stand for");
    c.network.ca = settings.network_ca;
  }
  opts.extra_ca_file = c.network.ca;
  auto maps = ML_TRY(parse_secret_maps(settings.secret_maps));
  for (const auto& [name, ref] : maps)
    if (!c.find_secret(name))
      return util::make_error(util::ErrorCode::Usage,
                              "--secret " + name + ": " + c.file.string() + " has no [secrets." + name + "]");
  std::map<std::string, std::string> placeholders;
  if (!c.secrets.empty()) {
    if (settings.placeholders_file.empty())
      return util::make_error(util::ErrorCode::Usage,
                              c.file.string() + " declares secrets: --placeholders FILE is required");
    auto text = ML_TRY(util::read_file(settings.placeholders_file));
    placeholders = ML_TRY(parse_placeholders(text, settings.placeholders_file));
  }
  auto read = [&](const Secret& s) -> util::Result<std::string> {
    if (auto it = maps.find(s.name); it != maps.end()) return read_k8s_secret(s, settings.secrets_root, it->second);
    switch (s.source) {
      case SecretSource::K8s:
        return read_k8s_secret(s, settings.secrets_root, ML_TRY(parse_k8s_secret_ref(s.source_value)));
      case SecretSource::Cmd:
        return util::make_error(util::ErrorCode::Config,
                                "secret " + s.name + " (" + s.from_text +
                                    "): cmd: is not run by the gateway; map it to a Kubernetes Secret with --secret " +
                                    s.name + "=SECRET/KEY");
      case SecretSource::Env:
      case SecretSource::File:
        return read_local_secret(c, s);
    }
    return util::make_error(util::ErrorCode::Internal, "secret " + s.name + ": unknown source");
  };
  auto placeholder = [&](std::string_view binding) -> util::Result<std::string> {
    auto it = placeholders.find(std::string(binding));
    if (it == placeholders.end())
      return util::make_error(util::ErrorCode::Config, settings.placeholders_file.string() + ": no placeholder for \"" +
                                                           std::string(binding) + "\"");
    return it->second;
  };
  auto loaded = ML_TRY(bind_secrets(c, read, placeholder, SecretFiles::Skip));
  for (const auto& [key, p] : placeholders) {
    bool used = false;
    for (const auto& b : loaded.table->bindings()) used = used || b.name == key;
    if (!used)
      return util::make_error(util::ErrorCode::Config, settings.placeholders_file.string() + ": \"" + key +
                                                           "\" is no secret of " + c.file.string());
  }
  opts.secrets = loaded.table;
  if (!settings.ca_dir.empty()) {
    opts.ca = std::shared_ptr<net::SandboxCa>(ML_TRY(load_gateway_ca(settings.ca_dir)));
  } else if (!loaded.table->empty()) {
    return util::make_error(util::ErrorCode::Usage,
                            "secrets need a CA to intercept TLS to their hosts: --ca-dir DIR (made by "
                            "`matchlock gateway init-ca DIR`)");
  }
  return opts;
}

util::Result<fs::path> init_gateway_ca(const fs::path& dir) {
  fs::path cert = dir / k_ca_cert_file, key = dir / k_ca_key_file;
  std::error_code ec;
  for (const auto& p : {cert, key})
    if (fs::exists(fs::symlink_status(p, ec)))
      return util::make_error(util::ErrorCode::Usage,
                              p.string() + " exists: not overwritten (remove it to make a new CA)");
  fs::create_directories(dir, ec);
  if (ec) return util::make_error(util::ErrorCode::Io, "create " + dir.string() + ": " + ec.message());
  auto ca = ML_TRY(net::SandboxCa::create_for_gateway(dir.filename().string()));
  std::string key_pem = ML_TRY(ca->key_pem());
  auto written = util::write_file_atomic(key, key_pem, 0600);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  ML_TRY(std::move(written));
  ML_TRY(util::write_file_atomic(cert, ca->cert_pem(), 0644));
  return cert;
}

util::Result<std::unique_ptr<net::SandboxCa>> load_gateway_ca(const fs::path& dir) {
  fs::path cert = dir / k_ca_cert_file, key = dir / k_ca_key_file;
  auto cert_pem = ML_TRY_CTX(util::read_file(cert), "gateway CA");
  auto key_pem = ML_TRY_CTX(util::read_file(key), "gateway CA");
  auto ca = net::SandboxCa::load(cert_pem, key_pem);
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  if (!ca) return util::make_error(ca.error().code(), "gateway CA " + dir.string() + ": " + ca.error().message());
  return std::move(*ca);
}

}  // namespace engine
