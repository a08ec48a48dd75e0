#include "oci/registry_schemes.hpp"

#include <cctype>

#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace oci {

namespace {

// "127.0.0.1:5000" -> "127.0.0.1_5000"; anything outside [A-Za-z0-9.-] becomes '_'.
std::filesystem::path scheme_file(const std::filesystem::path& cache_root, std::string_view host) {
  std::string name;
  for (char c : host) name += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
  return cache_root / "registries" / (name + ".scheme");
}

}  // namespace

std::string remembered_scheme(const std::filesystem::path& cache_root, std::string_view host) {
  auto text = util::read_file(scheme_file(cache_root, host));
  if (!text) return {};
  std::string s = *text;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s == "http" || s == "https" ? s : std::string();
}

void remember_scheme(const std::filesystem::path& cache_root, std::string_view host, std::string_view scheme) {
  if (remembered_scheme(cache_root, host) == scheme) return;
  auto file = scheme_file(cache_root, host);
  auto r = util::make_dirs(file.parent_path(), 0755);
  if (r) r = util::write_file_atomic(file, std::string(scheme) + "\n");
  if (!r) util::log::debug("cannot remember the scheme of " + std::string(host) + ": " + r.error().message());
}

}  // namespace oci
