// `matchlock render kubernetes` (docs/kubernetes.md): a Matchlockfile and its lock as
// Kubernetes objects — an agent-sandbox SandboxTemplate (and SandboxWarmPool,
// SandboxClaim), the `matchlock gateway` Deployment + Service + ConfigMap, and the
// NetworkPolicies that leave the gateway as the sandbox pods' only way out.
//
// Plan first: render_kubernetes builds every document in memory; the caller writes them.
// No secret value is ever read: `env:`/`file:`/`cmd:` sources need a render-time mapping
// to a Kubernetes Secret (RenderOptions::secret_refs), `k8s:SECRET/KEY` names one itself.
// Placeholders (net::generate_placeholder, the local sandbox's format) are the only random
// part of the output; everything else is a function of the inputs (keys sorted).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/config.hpp"
#include "engine/lockfile.hpp"
#include "util/result.hpp"

namespace engine {

inline constexpr const char* k_default_runtime_class = "kata-qemu";
inline constexpr const char* k_default_ca_name = "matchlock-gateway-ca";
inline constexpr const char* k_default_git_image = "docker.io/alpine/git:latest";
inline constexpr int k_gateway_proxy_port = 3128;
inline constexpr int k_gateway_health_port = 8080;

// Ranges the gateway may never reach: the cluster's pod/service networks, loopback,
// link-local (cloud metadata at 169.254.169.254) and private IPv6.
const std::vector<std::string>& default_cluster_cidrs();

struct K8sSecretRef {
  std::string secret;  // Kubernetes Secret name
  std::string key;     // key in it
};

struct RenderOptions {
  std::string namespace_name;  // "" = none in metadata (kubectl's current namespace)
  std::string runtime_class = k_default_runtime_class;
  std::optional<int> warm;    // SandboxWarmPool replicas
  bool claim = false;         // a SandboxClaim (needs a pool; replicas 0 without warm)
  std::string gateway_image;  // "" = ghcr.io/matchlock/matchlock:VERSION
  std::string git_image = k_default_git_image;
  std::string ca_name = k_default_ca_name;                           // tls Secret (gateway) and ConfigMap (sandboxes)
  std::map<std::string, K8sSecretRef> secret_refs;                   // --secret NAME=SECRET/KEY
  std::map<std::string, std::string> git_remotes;                    // --git-remote TARGET=URL
  std::vector<std::string> cluster_cidrs = default_cluster_cidrs();  // the gateway's egress exceptions
  std::string volume_size = "1Gi";                                   // PVC size of each named volume
  std::string platform;                                              // "" = sandbox.platform, else linux/amd64
};

struct RenderResult {
  std::vector<nlohmann::json> documents;  // in apply order
  std::vector<std::string> warnings;      // "FILE:LINE:COL: mounts[0]: ..." for people
};

// Parses "NAME=SECRET/KEY" (--secret). Errors say what is wrong with TEXT.
util::Result<std::pair<std::string, K8sSecretRef>> parse_secret_mapping(std::string_view text);
// Parses "TARGET=URL" (--git-remote).
util::Result<std::pair<std::string, std::string>> parse_git_remote(std::string_view text);

// CONFIG is the parsed Matchlockfile, MATCHLOCKFILE_TEXT its bytes (put in the gateway's
// ConfigMap), LOCK its lock (nullopt: none; an error suggesting `matchlock lock`).
util::Result<RenderResult> render_kubernetes(const Config& config, const std::string& matchlockfile_text,
                                             const std::optional<Lockfile>& lock, const RenderOptions& options);

// Multi-document YAML: each document as JSON (a subset of YAML 1.2) after "---".
std::string to_yaml_stream(const std::vector<nlohmann::json>& documents);
// "NN-kind-name.yaml" for the INDEX-th document (one file per document with -o DIR).
std::string document_file_name(size_t index, const nlohmann::json& document);

}  // namespace engine
