// The gateway's objects (ConfigMap, Service, Deployment) and the two NetworkPolicies that
// make it the sandbox pods' only way out (docs/kubernetes.md, "Trust boundary").
#include "engine/k8s_render_parts.hpp"
#include "engine/version.hpp"

namespace engine::k8s {

namespace {

// The name of the volume mounting Kubernetes Secret SECRET ("secret-" + a DNS label:
// Secret names may hold '.', volume names may not).
std::string secret_volume(const std::string& secret) {
  std::string v = "secret-";
  for (char c : secret) v += c == '.' ? '-' : c;
  if (v.size() > 63) v.resize(63);
  while (v.back() == '-') v.pop_back();
  return v;
}

json port(const char* protocol, int number) { return {{"protocol", protocol}, {"port", number}}; }

}  // namespace

json gateway_config_map(const Plan& plan) {
  json placeholders = json::object();
  for (const auto& [name, p] : plan.placeholders) placeholders[name] = p;
  json data = {{"Matchlockfile", plan.matchlockfile_text}, {"placeholders.json", placeholders.dump(2) + "\n"}};
  if (!plan.network_ca_pem.empty()) data[k_network_ca_key] = plan.network_ca_pem;
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", plan.metadata(plan.gateway, plan.gateway_labels())},
          {"data", data}};
}

json gateway_service(const Plan& plan) {
  return {
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata", plan.metadata(plan.gateway, plan.gateway_labels())},
      {"spec",
       {{"type", "ClusterIP"},
        {"selector", plan.gateway_labels()},
        {"ports",
         json::array(
             {{{"name", "proxy"}, {"protocol", "TCP"}, {"port", k_gateway_proxy_port}, {"targetPort", "proxy"}}})}}}};
}

json gateway_deployment(const Plan& plan) {
  const RenderOptions& o = *plan.options;
  std::string image =
      o.gateway_image.empty() ? std::string("ghcr.io/matchlock/matchlock:") + k_version : o.gateway_image;
  json command = {"matchlock",
                  "gateway",
                  "-f",
                  std::string(k_gateway_config_dir) + "/Matchlockfile",
                  "--listen",
                  "0.0.0.0:" + std::to_string(k_gateway_proxy_port),
                  "--health",
                  "0.0.0.0:" + std::to_string(k_gateway_health_port),
                  "--placeholders",
                  std::string(k_gateway_config_dir) + "/placeholders.json",
                  "--ca-dir",
                  k_gateway_ca_dir,
                  "--secrets-root",
                  k_gateway_secrets_root};
  for (const auto& a : plan.gateway_secret_args) command.push_back(a);
  if (!plan.network_ca_pem.empty()) {
    command.push_back("--network-ca");
    command.push_back(std::string(k_gateway_config_dir) + "/" + k_network_ca_key);
  }

  json mounts = json::array({
      {{"name", "config"}, {"mountPath", k_gateway_config_dir}, {"readOnly", true}},
      {{"name", "ca"}, {"mountPath", k_gateway_ca_dir}, {"readOnly", true}},
      {{"name", "tmp"}, {"mountPath", "/tmp"}},
  });
  json volumes = json::array({
      {{"name", "config"}, {"configMap", {{"name", plan.gateway}}}},
      {{"name", "ca"}, {"secret", {{"secretName", o.ca_name}, {"defaultMode", 0440}}}},
      {{"name", "tmp"}, {"emptyDir", {{"sizeLimit", "64Mi"}}}},
  });
  // Only this pod mounts the Kubernetes Secrets; one volume per Secret, read-only.
  for (const auto& s : plan.k8s_secrets) {
    mounts.push_back(
        {{"name", secret_volume(s)}, {"mountPath", std::string(k_gateway_secrets_root) + "/" + s}, {"readOnly", true}});
    volumes.push_back({{"name", secret_volume(s)}, {"secret", {{"secretName", s}, {"defaultMode", 0440}}}});
  }
  auto probe = [](const char* path) {
    return json{{"httpGet", {{"path", path}, {"port", "health"}}}, {"periodSeconds", 10}, {"failureThreshold", 3}};
  };
  json container = {
      {"name", "gateway"},
      {"image", image},
      {"command", command},
      {"ports", json::array({{{"name", "proxy"}, {"containerPort", k_gateway_proxy_port}, {"protocol", "TCP"}},
                             {{"name", "health"}, {"containerPort", k_gateway_health_port}, {"protocol", "TCP"}}})},
      {"readinessProbe", probe("/readyz")},
      {"livenessProbe", probe("/healthz")},
      {"resources", {{"requests", {{"cpu", "100m"}, {"memory", "128Mi"}}}, {"limits", {{"memory", "512Mi"}}}}},
      {"securityContext",
       {{"allowPrivilegeEscalation", false},
        {"readOnlyRootFilesystem", true},
        {"privileged", false},
        {"capabilities", {{"drop", {"ALL"}}}}}},
      {"volumeMounts", mounts},
  };
  json pod = {
      {"automountServiceAccountToken", false},
      {"enableServiceLinks", false},
      {"securityContext",
       {{"runAsNonRoot", true},
        {"runAsUser", 65532},
        {"runAsGroup", 65532},
        {"fsGroup", 65532},
        {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
      {"containers", json::array({container})},
      {"volumes", volumes},
  };
  pod["nodeSelector"] = {{"kubernetes.io/os", "linux"}};
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", plan.metadata(plan.gateway, plan.gateway_labels())},
          {"spec",
           {{"replicas", 1},
            {"selector", {{"matchLabels", plan.gateway_labels()}}},
            {"template", {{"metadata", {{"labels", plan.gateway_labels()}}}, {"spec", pod}}}}}};
}

json sandbox_network_policy(const Plan& plan) {
  // Sandbox pods: no ingress (kubectl exec/port-forward go through the kubelet, not the pod
  // network); egress to the gateway's proxy port only. No DNS: the proxy's address comes from
  // the Service's environment variables, and a name lookup would be a channel out.
  return {{"apiVersion", "networking.k8s.io/v1"},
          {"kind", "NetworkPolicy"},
          {"metadata", plan.metadata(plan.name + "-sandbox", plan.sandbox_labels())},
          {"spec",
           {{"podSelector", {{"matchLabels", plan.sandbox_labels()}}},
            {"policyTypes", {"Ingress", "Egress"}},
            {"ingress", json::array()},
            {"egress", json::array({{{"to", json::array({{{"podSelector", {{"matchLabels", plan.gateway_labels()}}}}})},
                                     {"ports", json::array({port("TCP", k_gateway_proxy_port)})}}})}}}};
}

json gateway_network_policy(const Plan& plan) {
  json v4_except = json::array(), v6_except = json::array();
  for (const auto& c : plan.options->cluster_cidrs)
    (c.find(':') != std::string::npos ? v6_except : v4_except).push_back(c);
  json v4 = {{"cidr", "0.0.0.0/0"}}, v6 = {{"cidr", "::/0"}};
  if (!v4_except.empty()) v4["except"] = v4_except;
  if (!v6_except.empty()) v6["except"] = v6_except;
  json dns_peer = {{"namespaceSelector", {{"matchLabels", {{"kubernetes.io/metadata.name", "kube-system"}}}}},
                   {"podSelector", {{"matchLabels", {{"k8s-app", "kube-dns"}}}}}};
  return {
      {"apiVersion", "networking.k8s.io/v1"},
      {"kind", "NetworkPolicy"},
      {"metadata", plan.metadata(plan.gateway, plan.gateway_labels())},
      {"spec",
       {{"podSelector", {{"matchLabels", plan.gateway_labels()}}},
        {"policyTypes", {"Ingress", "Egress"}},
        {"ingress", json::array({{{"from", json::array({{{"podSelector", {{"matchLabels", plan.sandbox_labels()}}}}})},
                                  {"ports", json::array({port("TCP", k_gateway_proxy_port)})}}})},
        {"egress", json::array({
                       // The internet, minus the cluster's ranges and metadata addresses.
                       {{"to", json::array({{{"ipBlock", v4}}, {{"ipBlock", v6}}})}},
                       // Cluster DNS: the gateway resolves the names its policy allows.
                       {{"to", json::array({dns_peer})}, {"ports", json::array({port("UDP", 53), port("TCP", 53)})}},
                   })}}}};
}

}  // namespace engine::k8s
