// The runnable part of an OCI/Docker image config blob, in the engine's terms.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "oci/platform.hpp"
#include "util/result.hpp"

namespace oci {

struct ImageConfig {
  std::vector<std::string> entrypoint, cmd, env;  // env: "K=V"
  std::string working_dir, user;
  std::vector<std::string> exposed_ports, volumes;  // "80/tcp", "/data" (sorted)
  std::map<std::string, std::string> labels;
  Platform platform;
  std::vector<std::string> diff_ids;  // rootfs.diff_ids ("sha256:..."), one per layer
};

// Parses an image config blob (application/vnd.oci.image.config.v1+json or
// application/vnd.docker.container.image.v1+json). null fields become empty.
util::Result<ImageConfig> parse_image_config(std::string_view json);

}  // namespace oci
