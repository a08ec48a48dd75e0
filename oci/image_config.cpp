#include "oci/image_config.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace oci {

namespace {
using Json = nlohmann::json;

std::vector<std::string> str_list(const Json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string str(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> keys(const Json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (auto& [k, v] : it->items()) out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

util::Result<ImageConfig> parse_image_config(std::string_view json) {
  Json j = Json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return util::make_error(util::ErrorCode::Integrity, "image config is not a JSON object");
  ImageConfig c;
  c.platform.os = str(j, "os");
  c.platform.architecture = str(j, "architecture");
  c.platform.variant = str(j, "variant");
  if (auto rootfs = j.find("rootfs"); rootfs != j.end() && rootfs->is_object())
    c.diff_ids = str_list(*rootfs, "diff_ids");
  auto cfg = j.find("config");
  if (cfg == j.end() || !cfg->is_object()) return c;  // "config" is optional
  c.entrypoint = str_list(*cfg, "Entrypoint");
  c.cmd = str_list(*cfg, "Cmd");
  c.env = str_list(*cfg, "Env");
  c.working_dir = str(*cfg, "WorkingDir");
  c.user = str(*cfg, "User");
  c.exposed_ports = keys(*cfg, "ExposedPorts");
  c.volumes = keys(*cfg, "Volumes");
  if (auto l = cfg->find("Labels"); l != cfg->end() && l->is_object())
    for (auto& [k, v] : l->items())
      if (v.is_string()) c.labels[k] = v.get<std::string>();
  return c;
}

}  // namespace oci
