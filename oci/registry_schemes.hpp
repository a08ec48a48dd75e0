// Which scheme a registry host answered on last time, remembered under
// CACHE/registries/<host>.scheme, so a plain-HTTP registry (localhost or one
// marked insecure) is not first tried over HTTPS on every pull.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace oci {

// "http", "https" or "" (nothing remembered).
std::string remembered_scheme(const std::filesystem::path& cache_root, std::string_view host);
// Best effort: a failure to write is only logged.
void remember_scheme(const std::filesystem::path& cache_root, std::string_view host, std::string_view scheme);

}  // namespace oci
