// The agent-sandbox objects: SandboxTemplate (the sandbox pod), SandboxWarmPool,
// SandboxClaim (extensions.agents.x-k8s.io/v1beta1).
#include "engine/k8s_render_parts.hpp"
#include "engine/lifecycle.hpp"

namespace engine::k8s {

namespace {

constexpr const char* k_extensions_api = "extensions.agents.x-k8s.io/v1beta1";

bool is_root(std::string_view user) { return user == "root" || user == "0" || user.substr(0, 2) == "0:"; }
bool is_numeric_user(std::string_view user) {
  if (user.empty()) return false;
  for (char c : user)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != ':') return false;
  return true;
}

std::string quantity_mib(uint64_t bytes) { return std::to_string(bytes / k_mib) + "Mi"; }

// A volume name for the mount at TARGET: "mount-" + the target as a DNS label.
std::string mount_volume(size_t index) { return "mount-" + std::to_string(index); }

// The trust store: the image's bundle (if any) plus the gateway's CA, where the variables
// point; appended to the system bundle too when it is writable (a root container).
std::string ca_script() {
  std::string ca = k_sandbox_ca_file, bundle = k_sandbox_ca_bundle;
  return "sys=/etc/ssl/certs/ca-certificates.crt\n"
         "if [ -f \"$sys\" ]; then cat \"$sys\" " +
         ca + " > " + bundle + "; else cat " + ca + " > " + bundle +
         "; fi\n"
         "if [ -w \"$sys\" ]; then cat " +
         ca + " >> \"$sys\"; fi\n";
}

// One `up` task as a shell line: ( cd DIR && env K=V... CMD ), through su when it runs as
// another user than the container.
std::string task_line(const Task& t, const Config& c, bool container_root) {
  std::string cmd;
  if (t.run_is_shell && !t.run.empty()) {
    cmd = "sh -c " + sh_quote(t.run.back());
  } else {
    for (size_t i = 0; i < t.run.size(); ++i) cmd += (i ? " " : "") + sh_quote(t.run[i]);
  }
  if (!t.env.empty()) {
    std::string env = "env";
    for (const auto& [k, v] : t.env) env += " " + sh_quote(k + "=" + v);
    cmd = env + " " + cmd;
  }
  std::string dir = !t.workdir.empty() ? t.workdir : c.sandbox.workdir;
  if (!dir.empty()) cmd = "cd " + sh_quote(dir) + " && " + cmd;
  std::string user = !t.user.empty() ? t.user : c.sandbox.user;
  if (container_root && !user.empty() && !is_root(user))
    cmd = "su -s /bin/sh " + sh_quote(user) + " -c " + sh_quote(cmd);
  return "echo " + sh_quote("matchlock: up task " + t.name) + " >&2\n(" + cmd + ")\n";
}

}  // namespace

util::Result<json> sandbox_template(const Plan& plan, std::vector<std::string>& warnings) {
  const Config& c = *plan.config;
  const RenderOptions& o = *plan.options;
  std::vector<std::string> order = ML_TRY(up_task_order(c));

  // Named users cannot be mapped to UIDs without the image: a container that must switch
  // users runs as root and uses su (the pod is its own VM under Kata; docs/kubernetes.md).
  bool named_user = !c.sandbox.user.empty() && !is_numeric_user(c.sandbox.user);
  bool root = is_root(c.sandbox.user);
  for (const auto& n : order) {
    const Task* t = c.find_task(n);
    if (!t) continue;
    root = root || is_root(t->user);
    named_user = named_user || (!t->user.empty() && !is_numeric_user(t->user));
  }
  bool container_root = root || named_user;

  json env = plan.proxy_env();
  for (const auto& [k, v] : c.sandbox.env) env.push_back({{"name", k}, {"value", v}});
  for (const auto& [name, p] : plan.placeholders) env.push_back({{"name", name}, {"value", p}});

  json volumes = json::array({
      {{"name", "gateway-ca"}, {"configMap", {{"name", o.ca_name}}}},
      {{"name", "matchlock-run"}, {"emptyDir", {{"sizeLimit", "16Mi"}}}},
  });
  json mounts = json::array({
      {{"name", "gateway-ca"}, {"mountPath", k_sandbox_ca_dir}, {"readOnly", true}},
      {{"name", "matchlock-run"}, {"mountPath", k_sandbox_run_dir}},
  });
  json init = json::array();
  json claims = json::array();
  std::vector<std::string> missing;
  for (size_t i = 0; i < c.mounts.size(); ++i) {
    const Mount& m = c.mounts[i];
    std::string where = c.where("mounts[" + std::to_string(i) + "]");
    if (!m.volume.empty()) {
      // A named volume: a PersistentVolumeClaim per sandbox (kept across pod restarts).
      std::string claim = "volume-" + m.volume;
      for (auto& ch : claim)
        if (ch == '.' || ch == '_') ch = '-';
      claims.push_back(
          {{"metadata", {{"name", claim}}},
           {"spec",
            {{"accessModes", {"ReadWriteOnce"}}, {"resources", {{"requests", {{"storage", o.volume_size}}}}}}}});
      mounts.push_back({{"name", claim}, {"mountPath", m.target}});
      continue;
    }
    std::string vol = mount_volume(i);
    volumes.push_back({{"name", vol}, {"emptyDir", json::object()}});
    mounts.push_back({{"name", vol}, {"mountPath", m.target}});
    if (m.mode == MountMode::Git) {
      auto remote = o.git_remotes.find(m.target);
      if (remote == o.git_remotes.end()) {
        missing.push_back(where + ": mounts[" + std::to_string(i) + "]: mode = \"git\" clones the repository into " +
                          m.target + "; the cluster cannot read " + m.source.filename().string() +
                          " on this machine: give its remote with --git-remote " + m.target + "=URL");
        continue;
      }
      // Clone through the gateway (its policy decides whether the git host is reachable).
      std::string script = "set -e\n" + ca_script() + "git clone -- " + sh_quote(remote->second) + " " +
                           sh_quote(m.target) + "\nchmod -R a+rwX " + sh_quote(m.target) + "\n";
      init.push_back(
          {{"name", "git-clone-" + std::to_string(i)},
           {"image", o.git_image},
           {"command", {"sh", "-c", script}},
           {"env", plan.proxy_env()},
           {"securityContext",
            {{"allowPrivilegeEscalation", false}, {"privileged", false}, {"capabilities", {{"drop", {"ALL"}}}}}},
           {"volumeMounts", json::array({{{"name", "gateway-ca"}, {"mountPath", k_sandbox_ca_dir}, {"readOnly", true}},
                                         {{"name", "matchlock-run"}, {"mountPath", k_sandbox_run_dir}},
                                         {{"name", vol}, {"mountPath", m.target}}})}});
      continue;
    }
    warnings.push_back(where + ": mounts[" + std::to_string(i) + "]: the host directory " +
                       m.source.filename().string() + " (" + m.source_text + ") has no meaning in a cluster; " +
                       m.target + " is an empty directory in the pod (use mode = \"git\" or a volume)");
  }
  if (!missing.empty()) {
    std::string msg;
    for (size_t i = 0; i < missing.size(); ++i) msg += (i ? "\n" : "") + missing[i];
    return util::make_error(util::ErrorCode::Usage, msg);
  }

  std::string script = "set -e\n" + ca_script();
  // A volume starts owned by root: give it to the sandbox's user, as a local volume is.
  if (container_root && !c.sandbox.user.empty() && !is_root(c.sandbox.user))
    for (const auto& m : c.mounts)
      if (!m.volume.empty()) script += "chown " + sh_quote(c.sandbox.user) + " " + sh_quote(m.target) + "\n";
  for (const auto& n : order)
    if (const Task* t = c.find_task(n)) script += task_line(*t, c, container_root);
  // Then idle as PID 1 (kubectl exec runs the agent), ending at once on SIGTERM.
  script +=
      std::string("touch ") + k_sandbox_up_done + "\ntrap 'exit 0' TERM INT\nwhile :; do sleep 3600 & wait $!; done\n";

  json sc = {{"allowPrivilegeEscalation", false}, {"privileged", false}};
  if (container_root) {
    sc["runAsUser"] = 0;
    sc["capabilities"] = {{"drop", {"ALL"}},
                          {"add", {"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID"}}};
  } else {
    sc["capabilities"] = {{"drop", {"ALL"}}};
    if (is_numeric_user(c.sandbox.user)) {
      std::string u = c.sandbox.user;
      size_t colon = u.find(':');
      sc["runAsUser"] = std::stoll(u.substr(0, colon));
      if (colon != std::string::npos && colon + 1 < u.size()) sc["runAsGroup"] = std::stoll(u.substr(colon + 1));
    }
  }

  json resources = {{"cpu", std::to_string(c.sandbox.cpus)},
                    {"memory", quantity_mib(c.sandbox.memory_bytes)},
                    {"ephemeral-storage", quantity_mib(c.sandbox.disk_bytes)}};
  json container = {
      {"name", "sandbox"},
      {"image", plan.image},
      {"command", {"sh", "-c", script}},
      {"env", env},
      {"resources", {{"requests", resources}, {"limits", resources}}},
      {"securityContext", sc},
      {"volumeMounts", mounts},
      {"readinessProbe",
       {{"exec", {{"command", {"test", "-f", k_sandbox_up_done}}}}, {"periodSeconds", 5}, {"failureThreshold", 1}}},
  };
  if (!c.sandbox.workdir.empty()) container["workingDir"] = c.sandbox.workdir;
  if (!c.ports.empty()) {
    json ports = json::array();
    for (const auto& p : c.ports) ports.push_back({{"containerPort", p.guest}, {"protocol", "TCP"}});
    container["ports"] = ports;
  }

  json pod = {
      {"runtimeClassName", o.runtime_class},
      {"automountServiceAccountToken", false},
      {"enableServiceLinks", true},  // $(NAME_GATEWAY_SERVICE_HOST) in the proxy variables
      {"nodeSelector", {{"kubernetes.io/os", "linux"}, {"kubernetes.io/arch", plan.arch}}},
      {"securityContext", {{"seccompProfile", {{"type", "RuntimeDefault"}}}}},
      {"containers", json::array({container})},
      {"volumes", volumes},
  };
  if (!init.empty()) pod["initContainers"] = init;

  json egress = json::array({{{"to", json::array({{{"podSelector", {{"matchLabels", plan.gateway_labels()}}}}})},
                              {"ports", json::array({{{"protocol", "TCP"}, {"port", k_gateway_proxy_port}}})}}});
  json spec = {
      {"podTemplate", {{"metadata", {{"labels", plan.sandbox_labels()}}}, {"spec", pod}}},
      // The controller's shared policy says what the standalone NetworkPolicy says.
      {"networkPolicyManagement", "Managed"},
      {"networkPolicy", {{"ingress", json::array()}, {"egress", egress}}},
  };
  if (!claims.empty()) spec["volumeClaimTemplates"] = claims;
  json meta = plan.metadata(plan.name, plan.sandbox_labels());
  meta["annotations"] = {{"matchlock.dev/image", c.sandbox.image.to_string()}};
  return json{{"apiVersion", k_extensions_api}, {"kind", "SandboxTemplate"}, {"metadata", meta}, {"spec", spec}};
}

json sandbox_warm_pool(const Plan& plan, int replicas) {
  return {{"apiVersion", k_extensions_api},
          {"kind", "SandboxWarmPool"},
          {"metadata", plan.metadata(plan.name, plan.sandbox_labels())},
          {"spec", {{"replicas", replicas}, {"sandboxTemplateRef", {{"name", plan.name}}}}}};
}

json sandbox_claim(const Plan& plan) {
  return {{"apiVersion", k_extensions_api},
          {"kind", "SandboxClaim"},
          {"metadata", plan.metadata(plan.name, plan.sandbox_labels())},
          {"spec", {{"warmPoolRef", {{"name", plan.name}}}}}};
}

}  // namespace engine::k8s
