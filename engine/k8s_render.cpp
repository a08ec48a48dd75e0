#include "engine/k8s_render.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cstdio>

#include "engine/k8s_render_parts.hpp"
#include "engine/version.hpp"
#include "net/secrets.hpp"
#include "util/fs.hpp"

namespace engine {

namespace {

using util::ErrorCode;
using util::make_error;

// RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63.
bool is_dns_label(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

// RFC 1123 subdomain: labels joined by '.', at most 253 (RuntimeClass, Secret names).
bool is_dns_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    if (!is_dns_label(s.substr(start, dot == std::string_view::npos ? dot : dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// A Secret's data key: [-._a-zA-Z0-9]+.
bool is_secret_key(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) return false;
  return true;
}

// The objects' base name: the project name as a DNS label, short enough for "-gateway"
// and the controller's suffixes.
std::string object_name(std::string_view project) {
  std::string out;
  for (char c : project) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9');
    if (ok)
      out += l;
    else if (!out.empty() && out.back() != '-')
      out += '-';
  }
  if (out.size() > 40) out.resize(40);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "sandbox" : out;
}

bool is_cidr(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash + 1 >= text.size()) return false;
  std::string addr(text.substr(0, slash));
  std::string bits(text.substr(slash + 1));
  for (char c : bits)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  if (bits.size() > 3) return false;
  int prefix = std::stoi(bits);
  unsigned char buf[16];
  if (addr.find(':') != std::string::npos) return inet_pton(AF_INET6, addr.c_str(), buf) == 1 && prefix <= 128;
  return inet_pton(AF_INET, addr.c_str(), buf) == 1 && prefix <= 32;
}

// "k8s:SECRET/KEY" (the gateway's secret source) -> the reference; nullopt for others.
std::optional<K8sSecretRef> k8s_source(std::string_view from) {
  if (from.substr(0, 4) != "k8s:") return std::nullopt;
  std::string_view rest = from.substr(4);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return K8sSecretRef{std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
}

util::Result<std::string> image_by_digest(const Config& config, const std::optional<Lockfile>& lock,
                                          const std::string& platform) {
  const oci::Reference& ref = config.sandbox.image;
  if (ref.kind != oci::ReferenceKind::Registry)
    return make_error(ErrorCode::Unsupported,
                      config.where("sandbox.image") + ": sandbox.image \"" + config.sandbox.image_text +
                          "\" is a local archive; a cluster pulls from a registry: push it and name it there");
  auto path = lockfile_path(config.file);
  auto entry = frozen_entry(lock, path, ref.to_string(), platform);
  if (!entry) return entry.error().context("render kubernetes needs the image pinned by digest");
  const std::string& d = entry->manifest_digest;
  bool hex = d.size() == 71 && d.rfind("sha256:", 0) == 0;
  for (size_t i = 7; hex && i < d.size(); ++i) hex = std::isxdigit(static_cast<unsigned char>(d[i])) != 0;
  if (!hex)
    return make_error(ErrorCode::Frozen, path.string() + ": the manifest digest of " + ref.to_string() +
                                             " is not sha256:<64 hex>; run `matchlock lock`");
  return ref.registry + "/" + ref.repository + "@" + entry->manifest_digest;
}

}  // namespace

const std::vector<std::string>& default_cluster_cidrs() {
  static const std::vector<std::string> cidrs = {
      "0.0.0.0/8",       // "this network"
      "10.0.0.0/8",      // RFC 1918 (most pod and service CIDRs)
      "100.64.0.0/10",   // carrier-grade NAT (some clouds' pod ranges)
      "127.0.0.0/8",     // loopback
      "169.254.0.0/16",  // link-local: cloud metadata (169.254.169.254)
      "172.16.0.0/12",   // RFC 1918
      "192.168.0.0/16",  // RFC 1918
      "::1/128",         // loopback
      "::ffff:0:0/96",   // IPv4-mapped: the ranges above by another name
      "fc00::/7",        // unique local (IPv6 pod/service ranges)
      "fe80::/10",       // link-local (fd00:ec2::254 is in fc00::/7)
  };
  return cidrs;
}

util::Result<std::pair<std::string, K8sSecretRef>> parse_secret_mapping(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::Usage, "--secret \"" + std::string(text) + "\": " + why +
                                            " (expected NAME=SECRET/KEY: the Matchlockfile's secret NAME, "
                                            "the Kubernetes Secret SECRET and its key KEY)");
  };
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) return bad("no NAME=");
  std::string name(text.substr(0, eq));
  std::string_view rest = text.substr(eq + 1);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad("no /KEY");
  K8sSecretRef ref{std::string(rest.substr(0, slash)), std::string(rest.substr(slash + 1))};
  if (!is_dns_subdomain(ref.secret)) return bad("\"" + ref.secret + "\" is not a Kubernetes Secret name");
  if (!is_secret_key(ref.key)) return bad("\"" + ref.key + "\" is not a Secret key ([-._a-zA-Z0-9]+)");
  return std::pair{name, ref};
}

util::Result<std::pair<std::string, std::string>> parse_git_remote(std::string_view text) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == text.size())
    return make_error(ErrorCode::Usage,
                      "--git-remote \"" + std::string(text) + "\": expected TARGET=URL (a git mount's target)");
  std::string target(text.substr(0, eq));
  std::string url(text.substr(eq + 1));
  // A credential in the URL would land in the YAML: refuse it (auth goes through the gateway).
  size_t scheme = url.find("://");
  size_t at = url.find('@');
  size_t host_end = scheme == std::string::npos ? std::string::npos : url.find('/', scheme + 3);
  if (scheme != std::string::npos && at != std::string::npos && at > scheme && at < host_end)
    return make_error(ErrorCode::Usage, "--git-remote " + target +
                                            ": the URL carries user info; put no credential in a URL "
                                            "(bind a secret to the git host instead, docs/kubernetes.md)");
  return std::pair{target, url};
}

util::Result<RenderResult> render_kubernetes(const Config& config, const std::string& matchlockfile_text,
                                             const std::optional<Lockfile>& lock, const RenderOptions& options) {
  // Usage errors first, all of them.
  std::vector<std::string> errors;
  if (!is_dns_subdomain(options.runtime_class))
    errors.push_back("--runtime-class \"" + options.runtime_class +
                     "\": not a RuntimeClass name (lowercase letters, digits, '-' and '.')");
  if (!options.namespace_name.empty() && !is_dns_label(options.namespace_name))
    errors.push_back("--namespace \"" + options.namespace_name + "\": not a namespace name (a DNS label)");
  if (options.warm && (*options.warm < 0 || *options.warm > 1000))
    errors.push_back("--warm " + std::to_string(*options.warm) + ": must be 0..1000");
  if (!is_dns_subdomain(options.ca_name)) errors.push_back("--ca \"" + options.ca_name + "\": not an object name");
  for (const auto& c : options.cluster_cidrs)
    if (!is_cidr(c)) errors.push_back("--cluster-cidr \"" + c + "\": not an IPv4 or IPv6 CIDR");
  for (const auto& [name, ref] : options.secret_refs)
    if (!config.find_secret(name))
      errors.push_back("--secret " + name + ": " + config.file.string() + " has no [secrets." + name + "]");
  for (const auto& [target, url] : options.git_remotes) {
    bool found = false;
    for (const auto& m : config.mounts) found = found || (m.mode == MountMode::Git && m.target == target);
    if (!found) errors.push_back("--git-remote " + target + ": no git-mode mount has that target");
  }

  k8s::Plan plan;
  plan.config = &config;
  plan.options = &options;
  plan.name = object_name(config.name);
  plan.gateway = plan.name + "-gateway";
  plan.matchlockfile_text = matchlockfile_text;

  // Secrets: a Kubernetes Secret per value, never the value.
  for (const auto& s : config.secrets) {
    auto mapped = options.secret_refs.find(s.name);
    std::optional<K8sSecretRef> ref;
    if (mapped != options.secret_refs.end()) {
      ref = mapped->second;
      plan.gateway_secret_args.push_back("--secret");
      plan.gateway_secret_args.push_back(s.name + "=" + ref->secret + "/" + ref->key);
    } else if (auto k = k8s_source(s.from_text)) {
      if (!is_dns_subdomain(k->secret) || !is_secret_key(k->key)) {
        errors.push_back(config.where("secrets." + s.name + ".from") + ": secrets." + s.name + ": \"" + s.from_text +
                         "\" does not name a Kubernetes Secret and key (k8s:SECRET/KEY)");
        continue;
      }
      ref = *k;
    } else {
      errors.push_back(config.where("secrets." + s.name + ".from") + ": secrets." + s.name + ": from = \"" +
                       s.from_text +
                       "\" is read on this machine, which a cluster cannot do: name a Kubernetes Secret with "
                       "--secret " +
                       s.name + "=SECRET/KEY or from = \"k8s:SECRET/KEY\"");
      continue;
    }
    plan.secret_refs[s.name] = *ref;
    plan.k8s_secrets.insert(ref->secret);
  }
  if (!config.network.ca.empty()) {
    // Certificates only (public): the gateway trusts them toward upstreams, as the local
    // proxy does. A private key here would be published in a ConfigMap: refused.
    auto pem = util::read_file(config.network.ca);
    constexpr size_t k_max_ca_bytes = size_t{1} << 20;
    if (!pem)
      errors.push_back(config.where("network.ca") + ": network.ca " + config.network.ca.string() + ": " +
                       pem.error().message() + " (render puts its certificates in the gateway's ConfigMap)");
    else if (pem->size() > k_max_ca_bytes || pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos ||
             pem->find("PRIVATE KEY") != std::string::npos)
      errors.push_back(config.where("network.ca") + ": network.ca " + config.network.ca.string() +
                       ": must be PEM certificates only (at most 1 MiB, no private key): it goes into a ConfigMap");
    else
      plan.network_ca_pem = std::move(*pem);
  }
  if (!errors.empty()) {
    std::string msg;
    for (size_t i = 0; i < errors.size(); ++i) msg += (i ? "\n" : "") + errors[i];
    return make_error(ErrorCode::Usage, msg);
  }

  std::string platform = !options.platform.empty()          ? options.platform
                         : !config.sandbox.platform.empty() ? config.sandbox.platform
                                                            : std::string("linux/amd64");
  plan.image = ML_TRY(image_by_digest(config, lock, platform));
  {
    size_t slash = platform.find('/');
    std::string arch = slash == std::string::npos ? platform : platform.substr(slash + 1);
    plan.arch = arch.substr(0, arch.find('/'));
  }

  RenderResult out;
  for (const auto& s : config.secrets) {
    if (!s.json.empty()) {
      out.warnings.push_back(config.where("secrets." + s.name) + ": secrets." + s.name +
                             ": a JSON secret file needs its document at render time; it is not rendered (the "
                             "gateway still holds the value)");
      continue;
    }
    plan.placeholders[s.name] = ML_TRY(net::generate_placeholder());
    if (!s.file.empty())
      out.warnings.push_back(config.where("secrets." + s.name + ".file") + ": secrets." + s.name + ": file " + s.file +
                             " is not rendered for Kubernetes; the placeholder is in $" + s.name);
  }
  if (!config.network.ca.empty())
    out.warnings.push_back(config.where("network.ca") +
                           ": the gateway trusts network.ca (its ConfigMap holds it); for the sandbox pods to "
                           "trust it too, add it to the CA ConfigMap's ca.crt (docs/kubernetes.md)");
  if (!config.network.services.empty())
    out.warnings.push_back(config.where("network.services") +
                           ": [network.services] reach this machine; they have no meaning in a cluster");
  if (!config.ports.empty() || config.ports_auto)
    out.warnings.push_back(config.where("ports") +
                           ": ports are declared as containerPorts; reach them with `kubectl port-forward`");

  out.documents.push_back(k8s::gateway_config_map(plan));
  out.documents.push_back(k8s::gateway_service(plan));  // before any sandbox pod: its address is in their env
  out.documents.push_back(k8s::gateway_deployment(plan));
  out.documents.push_back(k8s::gateway_network_policy(plan));
  out.documents.push_back(k8s::sandbox_network_policy(plan));
  out.documents.push_back(ML_TRY(k8s::sandbox_template(plan, out.warnings)));
  if (options.warm || options.claim) out.documents.push_back(k8s::sandbox_warm_pool(plan, options.warm.value_or(0)));
  if (options.claim) out.documents.push_back(k8s::sandbox_claim(plan));
  return out;
}

std::string to_yaml_stream(const std::vector<nlohmann::json>& documents) {
  std::string out;
  for (const auto& d : documents) {
    out += "---\n";
    // Invalid UTF-8 (a Matchlockfile's comment) becomes U+FFFD rather than an exception.
    out += d.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    out += "\n";
  }
  return out;
}

std::string document_file_name(size_t index, const nlohmann::json& document) {
  std::string kind = document.value("kind", "object");
  for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  char num[16];
  std::snprintf(num, sizeof num, "%02zu", index + 1);
  return std::string(num) + "-" + kind + "-" + document["metadata"].value("name", "unnamed") + ".yaml";
}

namespace k8s {

std::string sh_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

json Plan::metadata(const std::string& object_name, const json& labels) const {
  json m = {{"name", object_name}, {"labels", labels}};
  if (!options->namespace_name.empty()) m["namespace"] = options->namespace_name;
  return m;
}

json Plan::sandbox_labels() const {
  return {{"app.kubernetes.io/name", "matchlock"},
          {"app.kubernetes.io/instance", name},
          {"app.kubernetes.io/component", "sandbox"},
          {"app.kubernetes.io/managed-by", "matchlock"}};
}

json Plan::gateway_labels() const {
  return {{"app.kubernetes.io/name", "matchlock"},
          {"app.kubernetes.io/instance", name},
          {"app.kubernetes.io/component", "gateway"},
          {"app.kubernetes.io/managed-by", "matchlock"}};
}

std::string Plan::gateway_host_env() const {
  std::string var;
  for (char c : gateway) var += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return "$(" + var + "_SERVICE_HOST)";
}

json Plan::proxy_env() const {
  std::string proxy = "http://" + gateway_host_env() + ":" + std::to_string(k_gateway_proxy_port);
  json env = json::array();
  auto add = [&](const char* k, const std::string& v) { env.push_back({{"name", k}, {"value", v}}); };
  for (const char* k : {"HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"}) add(k, proxy);
  for (const char* k : {"NO_PROXY", "no_proxy"}) add(k, "localhost,127.0.0.1,::1");
  for (const char* k : {"SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "GIT_SSL_CAINFO"})
    add(k, k_sandbox_ca_bundle);
  add("NODE_EXTRA_CA_CERTS", k_sandbox_ca_file);
  return env;
}

}  // namespace k8s

}  // namespace engine
