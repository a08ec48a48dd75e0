// [network] and [secrets.NAME]: what may leave the sandbox, and which real
// credentials may be sent where. Secret values are never read here.
#include <algorithm>
#include <charconv>

#include "engine/config_reader.hpp"

namespace engine::detail {

namespace {

std::vector<net::Rule> parse_rules(Reader& r, const toml::table& t, std::string_view key, const std::string& path) {
  std::vector<net::Rule> out;
  auto entries = r.get_strings(t, key, path);
  if (!entries) return out;
  for (auto& e : *entries) {
    auto rule = net::parse_rule(e.value);
    if (!rule) r.error(e.pos, path + ": " + rule.error().message());
    else out.push_back(std::move(*rule));
  }
  return out;
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
    r.error(Reader::pos(*dns), "network.dns is not implemented: allowed names are resolved on the host by its "
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
      r.error(Reader::pos(key), "secret name \"" + name +
                                    "\" is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
      ok = false;
    }
    r.check_keys(*t, "[" + p + "]", {"from", "hosts", "inject"});
    if (auto from = r.get_string(*t, "from", p + ".from")) {
      s.from_text = from->value;
      std::string_view v = from->value;
      auto colon = v.find(':');
      std::string_view kind = v.substr(0, colon);
      std::string_view rest = colon == std::string_view::npos ? std::string_view() : v.substr(colon + 1);
      if (colon == std::string_view::npos || (kind != "env" && kind != "file" && kind != "cmd")) {
        r.error(from->pos, p + ".from \"" + from->value + "\" must start with env:, file: or cmd:");
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
      } else {
        s.source = SecretSource::Cmd;
        s.source_value = std::string(rest);
      }
    } else {
      if (!t->get("from")) r.error(s.pos, p + " needs from = \"env:VAR\", \"file:PATH\" or \"cmd:COMMAND\"");
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
          r.error(h.pos, p + ".hosts: \"" + h.value + "\" must be a host name (secrets are matched by TLS server name)");
          ok = false;
        } else {
          s.hosts.push_back(std::move(*rule));
        }
      }
    } else {
      if (!t->get("hosts")) r.error(s.pos, p + " needs hosts = [\"api.example.com\"]: the hosts the secret may be sent to");
      ok = false;
    }
    if (auto inject = r.get_strings(*t, "inject", p + ".inject")) {
      InjectSet set{false, false, false};
      if (inject->empty()) r.error(Reader::pos(*t->get("inject")), p + ".inject must name at least one of header, query, basic");
      for (auto& i : *inject) {
        bool* slot = i.value == "header" ? &set.header : i.value == "query" ? &set.query : i.value == "basic" ? &set.basic : nullptr;
        if (!slot) r.error(i.pos, p + ".inject \"" + i.value + "\" must be one of header, query, basic");
        else if (*slot) r.error(i.pos, p + ".inject lists \"" + i.value + "\" twice");
        else *slot = true;
      }
      s.inject = set;
    }
    if (ok) c.secrets.push_back(std::move(s));
  }
}

}  // namespace engine::detail
