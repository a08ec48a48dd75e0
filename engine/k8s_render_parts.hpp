// Internals of engine/k8s_render: what every document needs to agree on (names, labels,
// placeholders, Secret mounts), computed once by render_kubernetes, then one builder per
// object kind (k8s_sandbox.cpp: the agent-sandbox objects; k8s_gateway.cpp: the gateway
// and the NetworkPolicies).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/config.hpp"
#include "engine/k8s_render.hpp"

namespace engine::k8s {

using nlohmann::json;

// Paths inside the pods (docs/kubernetes.md).
inline constexpr const char* k_gateway_config_dir = "/etc/matchlock";
inline constexpr const char* k_network_ca_key = "network-ca.pem";  // [network].ca in the gateway ConfigMap
inline constexpr const char* k_gateway_ca_dir = "/var/run/matchlock/ca";
inline constexpr const char* k_gateway_secrets_root = "/var/run/matchlock/secrets";
inline constexpr const char* k_sandbox_ca_dir = "/etc/matchlock/gateway-ca";  // the CA ConfigMap
inline constexpr const char* k_sandbox_ca_file = "/etc/matchlock/gateway-ca/ca.crt";
inline constexpr const char* k_sandbox_run_dir = "/var/run/matchlock";  // emptyDir: bundle, up marker
inline constexpr const char* k_sandbox_ca_bundle = "/var/run/matchlock/ca-bundle.pem";
inline constexpr const char* k_sandbox_up_done = "/var/run/matchlock/up-done";

struct Plan {
  const Config* config = nullptr;
  const RenderOptions* options = nullptr;
  std::string name;                                 // DNS label from config.name: template, pool, claim
  std::string gateway;                              // NAME-gateway: Deployment, Service, ConfigMap
  std::string image;                                // REPOSITORY@sha256:... from the lock
  std::string arch;                                 // node architecture: "amd64"
  std::map<std::string, std::string> placeholders;  // secret NAME -> MATCHLOCK_SECRET_...
  std::map<std::string, K8sSecretRef> secret_refs;  // every secret the gateway reads
  std::vector<std::string> gateway_secret_args;     // "--secret", "NAME=SECRET/KEY", ...
  std::set<std::string> k8s_secrets;                // Kubernetes Secret names the gateway mounts
  std::string matchlockfile_text;
  std::string network_ca_pem;  // [network].ca's certificates: the gateway's ConfigMap holds them

  json metadata(const std::string& object_name, const json& labels) const;
  json sandbox_labels() const;
  json gateway_labels() const;
  // $(NAME_GATEWAY_SERVICE_HOST): the gateway Service's address as Kubernetes puts it in
  // every pod created after the Service (no DNS needed).
  std::string gateway_host_env() const;
  // The proxy and CA variables every sandbox container (and git init container) gets.
  json proxy_env() const;
};

json gateway_config_map(const Plan& plan);
json gateway_service(const Plan& plan);
json gateway_deployment(const Plan& plan);
json sandbox_network_policy(const Plan& plan);
json gateway_network_policy(const Plan& plan);

// Warnings go to WARNINGS (mounts without cluster meaning); errors (a git mount without a
// remote) are returned.
util::Result<json> sandbox_template(const Plan& plan, std::vector<std::string>& warnings);
json sandbox_warm_pool(const Plan& plan, int replicas);
json sandbox_claim(const Plan& plan);

// 'TEXT' for sh, quotes inside escaped.
std::string sh_quote(std::string_view text);

}  // namespace engine::k8s
