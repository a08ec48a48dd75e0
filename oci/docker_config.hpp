// Registry credentials from Docker's client config ($DOCKER_CONFIG/config.json
// or ~/.docker/config.json): "auths" (base64 "auth" or username/password),
// "credHelpers" per registry and "credsStore" (docker-credential-NAME get).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace oci {

struct Credentials {
  std::string username, password;
};

// Runs `docker-credential-NAME get` with the server on stdin and returns its stdout.
using CredentialHelper = std::function<util::Result<std::string>(std::string_view helper, std::string_view server)>;

// Looks `registry` ("docker.io", "127.0.0.1:5000") up in a config.json text.
// docker.io also matches "https://index.docker.io/v1/"; keys may carry a scheme
// and path. Returns nullopt when nothing applies.
util::Result<std::optional<Credentials>> credentials_from_docker_config(std::string_view json,
                                                                        std::string_view registry,
                                                                        const CredentialHelper& helper);

// The real thing: reads the file (absent: nullopt) and runs real helpers.
util::Result<std::optional<Credentials>> lookup_docker_credentials(std::string_view registry);

}  // namespace oci
