#include "oci/docker_config.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "oci/auth.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

namespace oci {

using util::ErrorCode;
using util::make_error;

namespace {

using Json = nlohmann::json;

// "https://index.docker.io/v1/" -> "index.docker.io"
std::string key_host(std::string_view key) {
  if (auto p = key.find("://"); p != std::string_view::npos) key.remove_prefix(p + 3);
  key = key.substr(0, key.find('/'));
  return std::string(key);
}

bool key_matches(std::string_view key, std::string_view registry) {
  std::string host = key_host(key);
  if (host == registry) return true;
  bool hub = registry == "docker.io" || registry == "index.docker.io" || registry == "registry-1.docker.io";
  return hub && (host == "index.docker.io" || host == "docker.io" || host == "registry-1.docker.io");
}

std::string helper_server(std::string_view registry) {
  return registry == "docker.io" ? "https://index.docker.io/v1/" : std::string(registry);
}

util::Result<std::optional<Credentials>> from_helper(const CredentialHelper& helper, std::string_view name,
                                                     std::string_view registry) {
  std::string out = ML_TRY_CTX(helper(name, helper_server(registry)), "docker-credential-" + std::string(name));
  auto j = Json::parse(out, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::Config, "docker-credential-" + std::string(name) + ": output is not a JSON object");
  Credentials c;
  if (auto u = j.find("Username"); u != j.end() && u->is_string()) c.username = u->get<std::string>();
  if (auto s = j.find("Secret"); s != j.end() && s->is_string()) c.password = s->get<std::string>();
  if (c.username.empty() && c.password.empty()) return std::optional<Credentials>();
  return std::optional<Credentials>(c);
}

}  // namespace

util::Result<std::optional<Credentials>> credentials_from_docker_config(std::string_view json,
                                                                        std::string_view registry,
                                                                        const CredentialHelper& helper) {
  auto j = Json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(ErrorCode::Config, "docker config is not a JSON object");
  if (auto h = j.find("credHelpers"); h != j.end() && h->is_object())
    for (auto& [key, v] : h->items())
      if (v.is_string() && key_matches(key, registry)) return from_helper(helper, v.get<std::string>(), registry);
  if (auto a = j.find("auths"); a != j.end() && a->is_object()) {
    for (auto& [key, v] : a->items()) {
      if (!v.is_object() || !key_matches(key, registry)) continue;
      Credentials c;
      if (auto au = v.find("auth"); au != v.end() && au->is_string() && !au->get<std::string>().empty()) {
        std::string decoded = ML_TRY_CTX(base64_decode(au->get<std::string>()), "docker config auths." + key + ".auth");
        auto colon = decoded.find(':');
        if (colon == std::string::npos)
          return make_error(ErrorCode::Config,
                            "docker config auths." + key + ".auth: expected base64 of USER:PASSWORD");
        c.username = decoded.substr(0, colon);
        c.password = decoded.substr(colon + 1);
      } else {
        if (auto u = v.find("username"); u != v.end() && u->is_string()) c.username = u->get<std::string>();
        if (auto p = v.find("password"); p != v.end() && p->is_string()) c.password = p->get<std::string>();
      }
      if (!c.username.empty() || !c.password.empty()) return std::optional<Credentials>(c);
    }
  }
  if (auto s = j.find("credsStore"); s != j.end() && s->is_string() && !s->get<std::string>().empty())
    return from_helper(helper, s->get<std::string>(), registry);
  return std::optional<Credentials>();
}

util::Result<std::optional<Credentials>> lookup_docker_credentials(std::string_view registry) {
  std::filesystem::path file;
  if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d)
    file = std::filesystem::path(d) / "config.json";
  else if (const char* h = std::getenv("HOME"); h && *h)
    file = std::filesystem::path(h) / ".docker" / "config.json";
  if (file.empty() || !util::path_exists(file)) return std::optional<Credentials>();
  std::string text = ML_TRY(util::read_file(file));
  CredentialHelper run = [](std::string_view name, std::string_view server) -> util::Result<std::string> {
    std::string prog = "docker-credential-" + std::string(name);
    if (util::find_program(prog).empty()) return make_error(ErrorCode::Config, prog + " not found in PATH");
    auto out = ML_TRY(util::run_command({prog, "get"}, server));
    if (out.status.code != 0 || !out.status.exited())
      return make_error(ErrorCode::Config, "get failed (" + out.status.describe() + "): " + out.out + out.err);
    return out.out;
  };
  return ML_TRY_CTX(credentials_from_docker_config(text, registry, run), file.string());
}

}  // namespace oci
