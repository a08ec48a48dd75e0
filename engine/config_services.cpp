// [network.services]: host-side endpoints the guest reaches by name
// (NAME.host.internal:PORT; net/host_service.hpp, docs/network-policy.md).
//   [network.services]
//   postgres = "127.0.0.1:5432"                        # postgres.host.internal:5432
//   redis = { to = "127.0.0.1:16379", port = 6379 }    # redis.host.internal:6379
#include <algorithm>

#include "engine/config_reader.hpp"

namespace engine::detail {

namespace {

bool parse_target(Reader& r, const Located<std::string>& text, const std::string& path, Service& out) {
  std::string why;
  auto target = net::parse_service_target(text.value, &why);
  if (!target) {
    r.error(text.pos, path + " \"" + text.value + "\": " + why);
    return false;
  }
  out.address = target->address;
  out.to_port = target->port;
  return true;
}

}  // namespace

void parse_services(Reader& r, const toml::table& network) {
  const toml::table* all = r.get_table(network, "services", "network.services");
  if (!all) return;
  auto& services = r.config().network.services;
  for (auto&& [key, node] : *all) {
    std::string name(key.str());
    std::string p = "network.services." + name;
    Service s;
    s.name = name;
    s.pos = Reader::pos(key);
    bool ok = true;
    if (!net::is_valid_service_name(name)) {
      r.error(Reader::pos(key), "network.services: \"" + name +
                                    "\" is not a service name (lowercase letters, digits and '-', starting with a "
                                    "letter, at most 63 characters; the sandbox reaches it as NAME." +
                                    std::string(net::k_service_domain) + ")");
      ok = false;
    }
    if (node.is_string()) {
      r.record(p, Reader::pos(node));
      ok = parse_target(r, {node.as_string()->get(), Reader::pos(node)}, p, s) && ok;
      s.port = s.to_port;
    } else if (const toml::table* t = node.as_table()) {
      r.record(p, Reader::pos(*t));
      r.check_keys(*t, "[" + p + "]", {"to", "port"});
      if (auto to = r.get_string(*t, "to", p + ".to")) {
        ok = parse_target(r, *to, p + ".to", s) && ok;
      } else {
        if (!t->get("to")) r.error(Reader::pos(*t), p + " needs to = \"ADDRESS:PORT\" (the host-side endpoint)");
        ok = false;
      }
      s.port = s.to_port;
      if (auto port = r.get_int(*t, "port", p + ".port")) {
        if (port->value < 1 || port->value > 65535) {
          r.error(port->pos, p + ".port must be 1..65535");
          ok = false;
        } else {
          s.port = static_cast<uint16_t>(port->value);
        }
      } else if (t->get("port")) {
        ok = false;
      }
    } else {
      r.error(Reader::pos(node),
              p + " must be \"ADDRESS:PORT\" or { to = \"ADDRESS:PORT\", port = PORT }, not " + type_name(node));
      ok = false;
    }
    if (ok) services.push_back(std::move(s));
  }
  std::sort(services.begin(), services.end(), [](const Service& a, const Service& b) { return a.name < b.name; });
}

}  // namespace engine::detail
