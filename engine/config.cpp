#include "engine/config.hpp"

#include <algorithm>

namespace engine {

SourcePos Config::pos(std::string_view key) const {
  std::string k(key);
  while (true) {
    auto it = positions.find(k);
    if (it != positions.end()) return it->second;
    auto cut = k.find_last_of(".[");
    if (cut == std::string::npos) return {};
    k.erase(cut);
  }
}

std::string Config::where(std::string_view key) const {
  SourcePos p = pos(key);
  if (!p.known()) return file.string();
  return file.string() + ":" + std::to_string(p.line) + ":" + std::to_string(p.column);
}

const Task* Config::find_task(std::string_view task_name) const {
  auto it = std::find_if(tasks.begin(), tasks.end(), [&](const Task& t) { return t.name == task_name; });
  return it == tasks.end() ? nullptr : &*it;
}

const Secret* Config::find_secret(std::string_view secret_name) const {
  auto it = std::find_if(secrets.begin(), secrets.end(), [&](const Secret& s) { return s.name == secret_name; });
  return it == secrets.end() ? nullptr : &*it;
}

std::vector<net::Rule> Config::allowed_rules() const {
  std::vector<net::Rule> out = network.allow;
  for (const auto& s : secrets)
    for (const auto& h : s.hosts)
      if (std::find(out.begin(), out.end(), h) == out.end()) out.push_back(h);
  for (const auto& r : policy.allow)
    if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  return out;
}

std::string mount_source_label(const Mount& m) { return m.volume.empty() ? m.source.string() : "volume " + m.volume; }

const char* to_string(Backend b) {
  switch (b) {
    case Backend::Auto:
      return "auto";
    case Backend::Qemu:
      return "qemu";
    case Backend::Firecracker:
      return "firecracker";
    case Backend::Gvisor:
      return "gvisor";
    case Backend::Vz:
      return "vz";
  }
  return "?";
}

const char* to_string(MountMode m) {
  switch (m) {
    case MountMode::Rw:
      return "rw";
    case MountMode::Ro:
      return "ro";
    case MountMode::Snapshot:
      return "snapshot";
    case MountMode::Git:
      return "git";
  }
  return "?";
}

const char* to_string(SecretSource s) {
  switch (s) {
    case SecretSource::Env:
      return "env";
    case SecretSource::File:
      return "file";
    case SecretSource::Cmd:
      return "cmd";
    case SecretSource::K8s:
      return "k8s";
  }
  return "?";
}

const char* to_string(PortProtocol) { return "tcp"; }

const char* to_string(KernelKind k) {
  switch (k) {
    case KernelKind::Default:
      return "default";
    case KernelKind::Path:
      return "path";
    case KernelKind::Reference:
      return "reference";
  }
  return "?";
}

}  // namespace engine
