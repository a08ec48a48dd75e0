// [network] and [secrets.NAME]: what may leave the sandbox, and which real
// credentials may be sent where. Secret values are never read here.
#include <algorithm>
#include <charconv>

#include "engine/config_reader.hpp"
#include "engine/k8s_secret_ref.hpp"
#include "net/hostname.hpp"

namespace engine::detail {

namespace {

std::vector<net::Rule> parse_rules(Reader& r, const toml::table& t, std::string_view key, const std::string& path) {
  std::vector<net::Rule> out;
  for (auto& rule : r.get_rules(t, key, path)) out.push_back(std::move(rule.value));
  return out;
}

// "${NAME}" references in a template (with "$$" a literal "$"); false on a syntax error.
bool template_names(std::string_view text, std::vector<std::string>& names) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') continue;
    if (i + 1 < text.size() && text[i + 1] == '$') {
      ++i;
      continue;
    }
    if (i + 1 >= text.size() || text[i + 1] != '{') continue;
    size_t end = text.find('}', i + 2);
    if (end == std::string_view::npos) return false;
    names.emplace_back(text.substr(i + 2, end - i - 2));
    i = end;
  }
  return true;
}

bool is_json_path(std::string_view p) {
  if (p.empty() || p.front() == '.' || p.back() == '.' || p.find("..") != std::string_view::npos) return false;
  for (char c : p)
    if (static_cast<unsigned char>(c) < 0x20) return false;
  return true;
}

// file / template / json of [secrets.NAME] (the cross-secret rules are in check_secret_files).
void parse_secret_file(Reader& r, const toml::table& t, const std::string& p, Secret& s) {
  if (auto f = r.get_string(t, "file", p + ".file")) {
    std::string v = f->value;
    bool home = v.starts_with("~/");
    std::string rel = home ? v.substr(2) : v;
    std::filesystem::path norm = std::filesystem::path(home ? "/" + rel : v).lexically_normal();
    bool dotdot = false;
    for (const auto& part : std::filesystem::path(rel)) dotdot = dotdot || part == "..";
    if ((!home && !v.starts_with("/")) || rel.empty() || v.back() == '/' || dotdot || norm == "/") {
      r.error(f->pos, p + ".file \"" + v +
                          "\" must be a file path in the guest: absolute (/root/.npmrc) or in the "
                          "home of the sandbox's user (~/.npmrc), without \"..\"");
    } else {
      s.file = home ? "~" + norm.string() : norm.string();
    }
  }
  if (auto tpl = r.get_string(t, "template", p + ".template")) {
    std::vector<std::string> names;
    if (!template_names(tpl->value, names))
      r.error(tpl->pos, p + ".template has a \"${\" without its closing \"}\" (write $$ for a literal $)");
    s.file_template = tpl->value;
  }
  if (auto fields = r.get_strings(t, "json", p + ".json")) {
    if (fields->empty()) r.error(Reader::pos(*t.get("json")), p + ".json must name at least one field of the document");
    for (auto& f : *fields) {
      if (!is_json_path(f.value)) {
        r.error(f.pos,
                p + ".json \"" + f.value + "\" must be a dotted field path such as \"claudeAiOauth.accessToken\"");
        continue;
      }
      if (std::find(s.json.begin(), s.json.end(), f.value) != s.json.end()) {
        r.error(f.pos, p + ".json lists \"" + f.value + "\" twice");
        continue;
      }
      s.json.push_back(f.value);
    }
  }
  const bool has_json = t.get("json") != nullptr, has_template = t.get("template") != nullptr;
  if (has_json && has_template)
    r.error(Reader::pos(*t.get("template")),
            p + ": template and json exclude each other (json delivers the document itself)");
  if ((has_json || has_template) && !t.get("file"))
    r.error(Reader::pos(*t.get(has_json ? "json" : "template")),
            p + "." + (has_json ? "json" : "template") + " needs file = \"GUEST PATH\": where the file is delivered");
}

// refresh_url = "https://HOST[:PORT]/PATH": HOST:PORT among the secret's hosts, no query.
void parse_refresh_url(Reader& r, const Located<std::string>& u, const std::string& p, Secret& s) {
  std::string_view v = u.value;
  auto bad = [&](const std::string& why) { r.error(u.pos, p + ".refresh_url \"" + u.value + "\" " + why); };
  if (!v.starts_with("https://")) return bad("must be an https:// URL (the token endpoint)");
  v.remove_prefix(8);
  size_t slash = v.find('/');
  auto authority = net::parse_authority(v.substr(0, slash));
  std::string_view path = slash == std::string_view::npos ? std::string_view("/") : v.substr(slash);
  if (!authority) return bad("has no valid host[:port]");
  if (path.find_first_of("?#") != std::string_view::npos) return bad("must not have a query or fragment");
  for (char c : path)
    if (static_cast<unsigned char>(c) <= ' ' || c == 127) return bad("has a space or control byte in its path");
  uint16_t port = authority->port ? authority->port : 443;
  bool bound = std::any_of(s.hosts.begin(), s.hosts.end(),
                           [&](const net::Rule& h) { return net::matches(h, authority->host, port); });
  if (!bound) return bad("is on a host that is not among " + p + ".hosts");
  s.refresh_url = net::canonical_https_url(authority->host, port, path);
}

// After every secret is read: template references exist and are single values, file paths
// are unique and not inside a mount of a host directory.
void check_secret_files(Reader& r) {
  Config& c = r.config();
  for (const auto& s : c.secrets) {
    std::string p = "secrets." + s.name;
    if (s.file_template) {
      std::vector<std::string> names;
      template_names(*s.file_template, names);
      for (const auto& n : names) {
        const Secret* ref = c.find_secret(n);
        if (!ref)
          r.error(c.pos(p + ".template"), p + ".template names ${" + n + "}, which is no secret of this file");
        else if (ref && !ref->json.empty())
          r.error(c.pos(p + ".template"),
                  p + ".template names ${" + n + "}, a json secret (a document, not one value)");
      }
    }
    if (s.file.empty()) continue;
    for (const auto& other : c.secrets)
      if (&other != &s && other.file == s.file && other.name < s.name)
        r.error(c.pos(p + ".file"), p + ".file \"" + s.file + "\" is also the file of secrets." + other.name);
    if (s.file.starts_with("~")) continue;  // the home is known in the guest only
    for (const auto& m : c.mounts) {
      bool inside = s.file.starts_with(m.target == "/" ? "/" : m.target + "/");
      if (inside && m.volume.empty())
        r.error(c.pos(p + ".file"), p + ".file \"" + s.file + "\" lies inside the mount at " + m.target +
                                        " (a host directory): the file would be written there; put it outside host "
                                        "mounts (a volume is fine)");
    }
  }
}

}  // namespace

void parse_network(Reader& r, const toml::table& root) {
  NetworkPolicy& n = r.config().network;
  const toml::table* t = r.get_table(root, "network", "network");
  if (!t) return;  // default: deny everything
  r.check_keys(*t, "[network]", {"allow", "deny", "block_private", "dns", "ca", "services"});
  n.allow = parse_rules(r, *t, "allow", "network.allow");
  n.deny = parse_rules(r, *t, "deny", "network.deny");
  if (auto b = r.get_bool(*t, "block_private", "network.block_private")) n.block_private = b->value;
  parse_services(r, *t);
  if (auto ca = r.get_string(*t, "ca", "network.ca")) {
    if (ca->value.empty() || ca->value.starts_with("~"))
      r.error(ca->pos, "network.ca must be a PEM file path, absolute or relative to the Matchlockfile");
    else
      n.ca = resolve_host_path(r.config().base_dir, ca->value);
  }
  // Accepted but unenforced settings would be a silent hole: refused until implemented.
  if (const toml::node* dns = t->get("dns"))
    r.error(Reader::pos(*dns),
            "network.dns is not implemented: allowed names are resolved on the host by its "
            "resolver (/etc/resolv.conf, /etc/hosts); remove the key");
}

void parse_secrets(Reader& r, const toml::table& root) {
  Config& c = r.config();
  const toml::table* all = r.get_table(root, "secrets", "secrets");
  if (!all) return;
  for (auto&& [key, node] : *all) {
    std::string name(key.str());
    std::string p = "secrets." + name;
    const toml::table* t = node.as_table();
    if (!t) {
      r.error(Reader::pos(node), p + " must be a table ([secrets." + name + "]), not " + type_name(node));
      continue;
    }
    r.record(p, Reader::pos(*t));
    Secret s;
    s.name = name;
    s.pos = Reader::pos(*t);
    bool ok = true;
    if (!is_env_name(name)) {
      r.error(Reader::pos(key),
              "secret name \"" + name + "\" is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
      ok = false;
    }
    r.check_keys(*t, "[" + p + "]", {"from", "hosts", "inject", "file", "template", "json", "refresh_url"});
    if (auto from = r.get_string(*t, "from", p + ".from")) {
      s.from_text = from->value;
      std::string_view v = from->value;
      auto colon = v.find(':');
      std::string_view kind = v.substr(0, colon);
      std::string_view rest = colon == std::string_view::npos ? std::string_view() : v.substr(colon + 1);
      if (colon == std::string_view::npos || (kind != "env" && kind != "file" && kind != "cmd" && kind != "k8s")) {
        r.error(from->pos, p + ".from \"" + from->value + "\" must start with env:, file:, cmd: or k8s:");
        ok = false;
      } else if (rest.empty()) {
        r.error(from->pos, p + ".from \"" + from->value + "\" names nothing after \"" + std::string(kind) + ":\"");
        ok = false;
      } else if (kind == "env") {
        s.source = SecretSource::Env;
        s.source_value = std::string(rest);
        if (!is_env_name(rest)) {
          r.error(from->pos, p + ".from: \"" + std::string(rest) + "\" is not a valid environment variable name");
          ok = false;
        }
      } else if (kind == "file") {
        s.source = SecretSource::File;
        // "~/..." is kept as written and expanded with $HOME when the secret is read.
        s.source_value = rest.starts_with("~/") ? std::string(rest) : resolve_host_path(c.base_dir, rest).string();
      } else if (kind == "k8s") {
        // A Kubernetes Secret's key: only `matchlock gateway` reads it (engine/k8s_secret_ref.hpp).
        s.source = SecretSource::K8s;
        s.source_value = std::string(rest);
        if (auto ref = parse_k8s_secret_ref(rest); !ref) {
          r.error(from->pos, p + ".from: " + ref.error().message());
          ok = false;
        }
      } else {
        s.source = SecretSource::Cmd;
        s.source_value = std::string(rest);
      }
    } else {
      if (!t->get("from"))
        r.error(s.pos, p + " needs from = \"env:VAR\", \"file:PATH\", \"cmd:COMMAND\" or \"k8s:SECRET/KEY\"");
      ok = false;
    }
    if (auto hosts = r.get_strings(*t, "hosts", p + ".hosts")) {
      if (hosts->empty()) {
        r.error(Reader::pos(*t->get("hosts")), p + ".hosts must name at least one host the secret may be sent to");
        ok = false;
      }
      for (auto& h : *hosts) {
        auto rule = net::parse_rule(h.value);
        if (!rule) {
          r.error(h.pos, p + ".hosts: " + rule.error().message());
          ok = false;
        } else if (rule->kind == net::RuleKind::Cidr) {
          r.error(h.pos,
                  p + ".hosts: \"" + h.value + "\" must be a host name (secrets are matched by TLS server name)");
          ok = false;
        } else {
          s.hosts.push_back(std::move(*rule));
        }
      }
    } else {
      if (!t->get("hosts"))
        r.error(s.pos, p + " needs hosts = [\"api.example.com\"]: the hosts the secret may be sent to");
      ok = false;
    }
    if (auto inject = r.get_strings(*t, "inject", p + ".inject")) {
      InjectSet set{false, false, false};
      if (inject->empty())
        r.error(Reader::pos(*t->get("inject")), p + ".inject must name at least one of header, query, basic");
      for (auto& i : *inject) {
        bool* slot = i.value == "header"  ? &set.header
                     : i.value == "query" ? &set.query
                     : i.value == "basic" ? &set.basic
                                          : nullptr;
        if (!slot)
          r.error(i.pos, p + ".inject \"" + i.value + "\" must be one of header, query, basic");
        else if (*slot)
          r.error(i.pos, p + ".inject lists \"" + i.value + "\" twice");
        else
          *slot = true;
      }
      s.inject = set;
    }
    parse_secret_file(r, *t, p, s);
    if (auto u = r.get_string(*t, "refresh_url", p + ".refresh_url")) parse_refresh_url(r, *u, p, s);
    if (ok) c.secrets.push_back(std::move(s));
  }
  check_secret_files(r);
}

}  // namespace engine::detail
