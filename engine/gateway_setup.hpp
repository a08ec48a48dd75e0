// What `matchlock gateway` (docs/gateway.md) builds from a Matchlockfile before it serves:
// the same Policy (engine/net_setup.hpp network_policy), the same secret table (bind_secrets)
// with the placeholders the sandbox pods already carry and the values from Kubernetes Secret
// volumes, env or files, and the CA it signs MITM leaves with. Every error names the file,
// key or secret at fault and never a value.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"
#include "engine/k8s_secret_ref.hpp"
#include "net/ca.hpp"
#include "net/proxy.hpp"
#include "util/result.hpp"

namespace engine {

inline constexpr const char* k_default_secrets_root = "/var/run/matchlock/secrets";
// A kubernetes.io/tls Secret's keys, as files of its volume.
inline constexpr const char* k_ca_cert_file = "tls.crt";
inline constexpr const char* k_ca_key_file = "tls.key";

struct GatewaySettings {
  std::filesystem::path placeholders_file;  // --placeholders: JSON {"NAME": "MATCHLOCK_SECRET_..."}
  std::filesystem::path ca_dir;             // --ca-dir: tls.crt + tls.key
  std::filesystem::path secrets_root = k_default_secrets_root;
  std::vector<std::string> secret_maps;  // --secret NAME=SECRET/KEY
  // --network-ca: where the file [network].ca names is (its path in the Matchlockfile is
  // the author's host's; render puts the PEM in the gateway's ConfigMap). Empty: that path.
  std::filesystem::path network_ca;
};

// The --placeholders file's text: a JSON object of binding name -> placeholder
// (net::is_placeholder), placeholders all different. Errors name FILE and the key.
util::Result<std::map<std::string, std::string>> parse_placeholders(std::string_view json_text,
                                                                    const std::filesystem::path& file);
// --secret NAME=SECRET/KEY, each NAME once.
util::Result<std::map<std::string, K8sSecretRef>> parse_secret_maps(const std::vector<std::string>& maps);
// The value file ROOT/SECRET/KEY: symlinks inside ROOT are followed (a Secret volume's keys
// are symlinks into ..data/), none that leads outside ROOT; a regular file of at most 1 MiB.
util::Result<std::string> read_k8s_secret(const Secret& s, const std::filesystem::path& root, const K8sSecretRef& ref);

// The proxy's options for CONFIG: its policy (without [network].services: no host services
// in a cluster; a warning says so), its secrets bound to the placeholders file's
// placeholders (one for every binding, else an error) and the CA of SETTINGS.ca_dir.
// WARNINGS gets what was left out.
util::Result<net::ProxyOptions> gateway_proxy_options(const Config& config, const GatewaySettings& settings,
                                                      std::vector<std::string>& warnings);

// `matchlock gateway init-ca DIR`: a new CA in DIR/tls.crt and DIR/tls.key (0600), each
// written atomically; refuses when either exists. Returns the certificate's path.
util::Result<std::filesystem::path> init_gateway_ca(const std::filesystem::path& dir);
util::Result<std::unique_ptr<net::SandboxCa>> load_gateway_ca(const std::filesystem::path& dir);

}  // namespace engine
