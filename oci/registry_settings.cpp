#include "oci/registry_settings.hpp"

#include <toml++/toml.h>

#include "util/fs.hpp"

namespace oci {

const RegistryHost* RegistrySettings::find(std::string_view registry) const {
  auto it = hosts.find(std::string(registry));
  return it == hosts.end() ? nullptr : &it->second;
}

util::Result<RegistrySettings> RegistrySettings::load(const std::filesystem::path& config_toml) {
  if (!util::path_exists(config_toml)) return RegistrySettings{};
  std::string text = ML_TRY(util::read_file(config_toml));
  return parse(text, config_toml.string());
}

util::Result<RegistrySettings> RegistrySettings::parse(std::string_view text, std::string_view source_name) {
  RegistrySettings s;
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    return util::make_error(util::ErrorCode::Config, std::string(source_name) + ":" + std::to_string(b.line) + ":" +
                                                         std::to_string(b.column) + ": " +
                                                         std::string(e.description()));
  }
  auto* regs = root["registry"].as_table();
  if (!regs) return s;
  for (auto& [name, node] : *regs) {
    auto* t = node.as_table();
    auto where = [&](const toml::node& n) {
      return std::string(source_name) + ":" + std::to_string(n.source().begin.line) + ":" +
             std::to_string(n.source().begin.column);
    };
    if (!t)
      return util::make_error(util::ErrorCode::Config,
                              where(node) + ": registry." + std::string(name.str()) + " must be a table");
    RegistryHost h;
    if (auto* m = t->get("mirrors")) {
      auto* arr = m->as_array();
      if (!arr) return util::make_error(util::ErrorCode::Config, where(*m) + ": mirrors must be an array of strings");
      for (auto& e : *arr) {
        auto v = e.value<std::string>();
        if (!v) return util::make_error(util::ErrorCode::Config, where(e) + ": mirrors must be an array of strings");
        h.mirrors.push_back(*v);
      }
    }
    if (auto* i = t->get("insecure")) {
      auto v = i->value<bool>();
      if (!v) return util::make_error(util::ErrorCode::Config, where(*i) + ": insecure must be true or false");
      h.insecure = *v;
    }
    s.hosts[std::string(name.str())] = std::move(h);
  }
  return s;
}

}  // namespace oci
