#include "cmd/config_print.hpp"

#include "engine/task_graph.hpp"
#include "util/size.hpp"

namespace cmd {

namespace {

using nlohmann::json;

const char* kind_name(oci::ReferenceKind k) {
  switch (k) {
    case oci::ReferenceKind::Registry:
      return "registry";
    case oci::ReferenceKind::OciLayout:
      return "oci-layout";
    case oci::ReferenceKind::DockerArchive:
      return "docker-archive";
    case oci::ReferenceKind::OciArchive:
      return "oci-archive";
  }
  return "?";
}

json reference_json(const oci::Reference& r) {
  json j = {{"kind", kind_name(r.kind)}, {"canonical", r.to_string()}};
  if (r.kind == oci::ReferenceKind::Registry) {
    j["registry"] = r.registry;
    j["repository"] = r.repository;
  } else {
    j["path"] = r.path;
  }
  j["tag"] = r.tag.empty() ? json(nullptr) : json(r.tag);
  j["digest"] = r.digest.empty() ? json(nullptr) : json(r.digest);
  return j;
}

json rules_json(const std::vector<net::Rule>& rules) {
  json a = json::array();
  for (const auto& r : rules) a.push_back(r.to_string());
  return a;
}

json inject_json(const engine::InjectSet& s) {
  json a = json::array();
  if (s.header) a.push_back("header");
  if (s.query) a.push_back("query");
  if (s.basic) a.push_back("basic");
  return a;
}

json opt(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

// TOML values for the text form (JSON string escapes are valid TOML basic strings).
std::string q(const std::string& s) { return json(s).dump(); }
std::string list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + q(items[i]);
  return out + "]";
}
std::vector<std::string> rule_texts(const std::vector<net::Rule>& rules) {
  std::vector<std::string> out;
  for (const auto& r : rules) out.push_back(r.to_string());
  return out;
}
std::vector<std::string> inject_texts(const engine::InjectSet& s) {
  std::vector<std::string> out;
  for (const auto& v : inject_json(s)) out.push_back(v.get<std::string>());
  return out;
}
std::string or_default(const std::string& s, const char* what) { return s.empty() ? what : s; }

}  // namespace

json config_to_json(const engine::Config& c) {
  json j;
  j["file"] = c.file.string();
  j["base_dir"] = c.base_dir.string();
  j["version"] = c.version;
  j["name"] = c.name;
  j["up"] = c.up;
  j["default"] = opt(c.default_task);
  const auto& s = c.sandbox;
  json kernel = {{"kind", engine::to_string(s.kernel.kind)}, {"text", s.kernel.text}};
  if (s.kernel.kind == engine::KernelKind::Path) kernel["path"] = s.kernel.path.string();
  if (s.kernel.kind == engine::KernelKind::Reference) kernel["reference"] = reference_json(s.kernel.reference);
  j["sandbox"] = {{"image", s.image_text},
                  {"image_reference", reference_json(s.image)},
                  {"platform", opt(s.platform)},
                  {"cpus", s.cpus},
                  {"memory_bytes", s.memory_bytes},
                  {"disk_bytes", s.disk_bytes},
                  {"backend", engine::to_string(s.backend)},
                  {"kernel", kernel},
                  {"user", opt(s.user)},
                  {"workdir", opt(s.workdir)},
                  {"hostname", s.hostname},
                  {"snapshot", s.snapshot},
                  {"env", s.env}};
  j["mounts"] = json::array();
  for (const auto& m : c.mounts) {
    json mount = {{"target", m.target},
                  {"mode", engine::to_string(m.mode)},
                  {"exclude", m.exclude},
                  {"cache", m.cache == engine::MountCache::None ? "none" : "auto"}};
    if (m.volume.empty())
      mount["source"] = m.source.string();
    else
      mount["volume"] = m.volume;
    j["mounts"].push_back(mount);
  }
  j["network"] = {{"allow", rules_json(c.network.allow)},
                  {"deny", rules_json(c.network.deny)},
                  {"block_private", c.network.block_private},
                  {"effective_allow", rules_json(c.allowed_rules())}};
  if (!c.network.ca.empty()) j["network"]["ca"] = c.network.ca.string();
  j["network"]["services"] = json::object();
  for (const auto& sv : c.network.services)
    j["network"]["services"][sv.name] = {{"guest", sv.endpoint().guest_name() + ":" + std::to_string(sv.port)},
                                         {"to", sv.endpoint().target()},
                                         {"port", sv.port}};
  j["secrets"] = json::object();
  for (const auto& sec : c.secrets) {
    j["secrets"][sec.name] = {{"from", sec.from_text},          {"source", engine::to_string(sec.source)},
                              {"hosts", rules_json(sec.hosts)}, {"inject", inject_json(sec.inject)},
                              {"file", opt(sec.file)},          {"json", sec.json}};
    if (sec.file_template) j["secrets"][sec.name]["template"] = *sec.file_template;
  }
  j["tasks"] = json::object();
  for (const auto& t : c.tasks) {
    auto order = engine::task_order(c, t.name);
    j["tasks"][t.name] = {{"run", t.run},
                          {"shell", t.run_is_shell},
                          {"description", t.description},
                          {"needs", t.needs},
                          {"order", order ? json(*order) : json(nullptr)},
                          {"env", t.env},
                          {"workdir", opt(t.workdir)},
                          {"user", opt(t.user)},
                          {"interactive", t.interactive},
                          {"cache", t.cache},
                          {"inputs", t.inputs}};
  }
  j["ports"] = json::array();
  for (const auto& p : c.ports)
    j["ports"].push_back({{"host", p.host}, {"guest", p.guest}, {"protocol", engine::to_string(p.protocol)}});
  j["ports_auto"] = c.ports_auto;
  json files = json::array();
  for (const auto& f : c.policy.files) files.push_back(f.string());
  j["policy"] = {{"files", files},
                 {"allow", rules_json(c.policy.allow)},
                 {"deny", rules_json(c.policy.deny)},
                 {"allowed", c.policy.allowed},
                 {"cut", c.policy.cut}};
  return j;
}

std::string config_to_text(const engine::Config& c) {
  std::string o = "# " + c.file.string() + ", resolved with defaults\n";
  o += "version = " + std::to_string(c.version) + "\nname = " + q(c.name) + "\nup = " + list(c.up) + "\n";
  if (!c.default_task.empty()) o += "default = " + q(c.default_task) + "\n";
  if (c.ports_auto) o += "ports = \"auto\"  # every guest listener >= 1024 on a free 127.0.0.1 port (matchlock port)\n";
  const auto& s = c.sandbox;
  o += "\n[sandbox]\nimage = " + q(s.image.to_string()) + "  # written as " + q(s.image_text) + "\n";
  o += "platform = " + q(or_default(s.platform, "host")) + "\n";
  o += "cpus = " + std::to_string(s.cpus) + "\nmemory = " + q(util::format_size(s.memory_bytes)) +
       "\ndisk = " + q(util::format_size(s.disk_bytes)) + "\nbackend = " + q(engine::to_string(s.backend)) + "\n";
  o += "kernel = " +
       q(s.kernel.kind == engine::KernelKind::Path        ? s.kernel.path.string()
         : s.kernel.kind == engine::KernelKind::Reference ? s.kernel.reference.to_string()
                                                          : "default") +
       "\n";
  o += s.user.empty() ? "# user: the image's\n" : "user = " + q(s.user) + "\n";
  o += s.workdir.empty() ? "# workdir: the image's\n" : "workdir = " + q(s.workdir) + "\n";
  o += "hostname = " + q(s.hostname) + "\n";
  o += std::string("snapshot = ") + (s.snapshot ? "true" : "false") + "\n";
  if (!s.env.empty()) {
    o += "\n[sandbox.env]\n";
    for (const auto& [k, v] : s.env) o += k + " = " + q(v) + "\n";
  }
  for (const auto& m : c.mounts) {
    o += "\n[[mounts]]\n" + (m.volume.empty() ? "source = " + q(m.source.string()) : "volume = " + q(m.volume)) +
         "\ntarget = " + q(m.target) + "\nmode = " + q(engine::to_string(m.mode)) + "\n";
    if (!m.exclude.empty()) o += "exclude = " + list(m.exclude) + "\n";
    if (m.cache == engine::MountCache::None) o += "cache = \"none\"\n";
  }
  o += "\n[network]  # everything not allowed is denied\nallow = " + list(rule_texts(c.network.allow)) + "\n";
  o += "deny = " + list(rule_texts(c.network.deny)) +
       "\nblock_private = " + (c.network.block_private ? "true" : "false") + "\n";
  if (!c.network.ca.empty()) o += "ca = " + q(c.network.ca.string()) + "  # also trusted for upstream TLS\n";
  o += "# effective allow (with secret hosts) = " + list(rule_texts(c.allowed_rules())) + "\n";
  if (!c.network.services.empty())
    o += "\n[network.services]  # NAME.host.internal:PORT in the sandbox -> this host endpoint\n";
  for (const auto& sv : c.network.services)
    o += sv.name + " = { to = " + q(sv.endpoint().target()) + ", port = " + std::to_string(sv.port) + " }  # " +
         sv.endpoint().guest_name() + ":" + std::to_string(sv.port) + "\n";
  for (const auto& sec : c.secrets) {
    o += "\n[secrets." + sec.name + "]  # value not read\nfrom = " + q(sec.from_text) +
         "\nhosts = " + list(rule_texts(sec.hosts)) + "\ninject = " + list(inject_texts(sec.inject)) + "\n";
    if (!sec.file.empty()) o += "file = " + q(sec.file) + "  # placeholders only\n";
    if (sec.file_template) o += "template = " + q(*sec.file_template) + "\n";
    if (!sec.json.empty()) o += "json = " + list(sec.json) + "  # each field: its own placeholder\n";
  }
  for (const auto& t : c.tasks) {
    o += "\n[tasks." + t.name + "]\nrun = " + list(t.run) + "\n";
    if (!t.description.empty()) o += "description = " + q(t.description) + "\n";
    if (!t.needs.empty()) {
      auto order = engine::task_order(c, t.name);
      o += "needs = " + list(t.needs) + (order ? "  # runs: " + list(*order) : std::string()) + "\n";
    }
    if (!t.workdir.empty()) o += "workdir = " + q(t.workdir) + "\n";
    if (!t.user.empty()) o += "user = " + q(t.user) + "\n";
    if (t.interactive) o += "interactive = true\n";
    if (t.cache) o += "cache = true\ninputs = " + list(t.inputs) + "\n";
    for (const auto& [k, v] : t.env) o += "env." + k + " = " + q(v) + "\n";
  }
  for (const auto& p : c.ports)
    o += "\n[[ports]]\nhost = " + std::to_string(p.host) + "\nguest = " + std::to_string(p.guest) +
         "\nprotocol = \"tcp\"\n";
  for (const auto& f : c.policy.files) o += "\n# bounded by the machine policy " + f.string() + "\n";
  for (const auto& r : c.policy.deny) o += "# policy: never allows " + r.to_string() + "\n";
  for (const auto& a : c.policy.allowed) o += "# policy: allows everywhere " + a + "\n";
  for (const auto& cut : c.policy.cut) o += "# policy cuts: " + cut + "\n";
  return o;
}

}  // namespace cmd
