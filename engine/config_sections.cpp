// [sandbox], [[mounts]] and [[ports]].
#include <algorithm>

#include "engine/backend_choice.hpp"
#include "engine/config_reader.hpp"
#include "engine/guest_platform.hpp"
#include "util/glob.hpp"

namespace engine::detail {

namespace {

bool is_platform(std::string_view p) {
  // os/arch[/variant], lowercase alphanumerics.
  int parts = 0;
  size_t start = 0;
  while (true) {
    size_t slash = p.find('/', start);
    std::string_view part = p.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty()) return false;
    for (char c : part)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    ++parts;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts == 2 || parts == 3;
}

bool is_hostname_label(std::string_view h) {
  if (h.empty() || h.size() > 63 || h.front() == '-' || h.back() == '-') return false;
  for (char c : h)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

bool is_user(std::string_view u) {
  if (u.empty()) return false;
  for (char c : u)
    if (c <= ' ' || c == 127) return false;
  return std::count(u.begin(), u.end(), ':') <= 1 && u.front() != ':' && u.back() != ':';
}

// An absolute guest path, normalised; empty on error (reported).
std::string guest_path(Reader& r, const Located<std::string>& v, const std::string& path) {
  if (v.value.empty() || v.value[0] != '/') {
    r.error(v.pos, path + " \"" + v.value + "\" must be an absolute path in the guest");
    return {};
  }
  std::string p = std::filesystem::path(v.value).lexically_normal().string();
  if (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// Resolves offline image/kernel references against the Matchlockfile's directory.
void resolve_reference_path(Reader& r, oci::Reference& ref) {
  if (ref.kind != oci::ReferenceKind::Registry) ref.path = resolve_host_path(r.config().base_dir, ref.path).string();
}

void parse_kernel(Reader& r, const Located<std::string>& k) {
  Kernel& kernel = r.config().sandbox.kernel;
  kernel.text = k.value;
  if (k.value == "default") return;
  if (k.value.starts_with("/") || k.value.starts_with("./") || k.value.starts_with("../")) {
    kernel.kind = KernelKind::Path;
    kernel.path = resolve_host_path(r.config().base_dir, k.value);
    return;
  }
  auto ref = oci::parse_reference(k.value);
  if (!ref) {
    r.error(k.pos, "sandbox.kernel must be \"default\", a path starting with /, ./ or ../, or an OCI reference: " +
                       ref.error().message());
    return;
  }
  kernel.kind = KernelKind::Reference;
  kernel.reference = std::move(*ref);
  resolve_reference_path(r, kernel.reference);
}

bool is_volume_name(std::string_view v) {
  if (v.empty() || v.size() > 63) return false;
  if (!((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= '0' && v[0] <= '9'))) return false;
  for (char c : v)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) return false;
  return true;
}

}  // namespace

void parse_sandbox(Reader& r, const toml::table& root) {
  Sandbox& s = r.config().sandbox;
  const toml::table* t = r.get_table(root, "sandbox", "sandbox");
  if (!t) {
    if (!root.get("sandbox")) r.error({1, 1}, "missing required table [sandbox] (with image = \"...\")");
    return;
  }
  r.check_keys(*t, "[sandbox]",
               {"image", "platform", "cpus", "memory", "disk", "backend", "kernel", "user", "workdir", "hostname",
                "env", "snapshot"});
  if (auto b = r.get_bool(*t, "snapshot", "sandbox.snapshot")) s.snapshot = b->value;
  if (auto img = r.get_string(*t, "image", "sandbox.image")) {
    s.image_text = img->value;
    auto ref = oci::parse_reference(img->value);
    if (ref) {
      s.image = std::move(*ref);
      resolve_reference_path(r, s.image);
    } else {
      r.error(img->pos, "sandbox.image: " + ref.error().message());
    }
  } else if (!t->get("image")) {
    r.error(Reader::pos(*t), "[sandbox] needs image = \"REFERENCE\" (for example \"debian:bookworm-slim\")");
  }
  if (auto p = r.get_string(*t, "platform", "sandbox.platform")) {
    if (!is_platform(p->value))
      r.error(p->pos, "sandbox.platform \"" + p->value + "\" must look like \"linux/amd64\" or \"linux/arm/v7\"");
    else if (auto bootable = guest_arch(*oci::Platform::parse(p->value)); !bootable)
      r.error(p->pos, "sandbox." + bootable.error().message());
    else
      s.platform = p->value;
  }
  if (auto c = r.get_int(*t, "cpus", "sandbox.cpus")) {
    if (c->value < 1)
      r.error(c->pos, "sandbox.cpus must be at least 1");
    else if (c->value > 255)
      r.error(c->pos, "sandbox.cpus must be at most 255");
    else
      s.cpus = static_cast<int>(c->value);
  }
  if (auto m = r.get_size(*t, "memory", "sandbox.memory")) {
    if (m->value < k_min_memory)
      r.error(m->pos, "sandbox.memory must be at least 128MiB");
    else
      s.memory_bytes = m->value;
  }
  if (auto d = r.get_size(*t, "disk", "sandbox.disk")) {
    if (d->value < 64 * k_mib)
      r.error(d->pos, "sandbox.disk must be at least 64MiB");
    else
      s.disk_bytes = d->value;
  }
  if (auto b = r.get_string(*t, "backend", "sandbox.backend")) {
    static constexpr std::pair<std::string_view, Backend> k_backends[] = {{"auto", Backend::Auto},
                                                                          {"qemu", Backend::Qemu},
                                                                          {"firecracker", Backend::Firecracker},
                                                                          {"gvisor", Backend::Gvisor},
                                                                          {"vz", Backend::Vz}};
    auto it = std::find_if(std::begin(k_backends), std::end(k_backends), [&](auto& e) { return e.first == b->value; });
    if (it == std::end(k_backends))
      r.error(b->pos, "sandbox.backend \"" + b->value + "\" must be one of auto, qemu, firecracker, gvisor, vz");
    else if (std::string why = backend_refusal(it->second); !why.empty())
      r.error(b->pos, "sandbox.backend \"" + b->value + "\" " + why);
    else
      s.backend = it->second;
  }
  if (auto k = r.get_string(*t, "kernel", "sandbox.kernel")) parse_kernel(r, *k);
  if (auto u = r.get_string(*t, "user", "sandbox.user")) {
    if (is_user(u->value))
      s.user = u->value;
    else
      r.error(u->pos, "sandbox.user \"" + u->value + "\" must be NAME, UID or UID:GID");
  }
  if (auto w = r.get_string(*t, "workdir", "sandbox.workdir")) s.workdir = guest_path(r, *w, "sandbox.workdir");
  if (auto h = r.get_string(*t, "hostname", "sandbox.hostname")) {
    if (is_hostname_label(h->value))
      s.hostname = h->value;
    else
      r.error(h->pos, "sandbox.hostname \"" + h->value + "\" must be one DNS label of [a-z0-9-] (at most 63)");
  }
  s.env = r.get_env(*t, "env", "sandbox.env");
}

void parse_mounts(Reader& r, const toml::table& root) {
  Config& c = r.config();
  const toml::array* a = r.get_array(root, "mounts", "mounts");
  if (!a) {
    if (!root.get("mounts")) c.mounts.push_back(Mount{".", c.base_dir, "/workspace", MountMode::Rw, {}, {}});
    return;
  }
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::node& el = *a->get(i);
    std::string p = "mounts[" + std::to_string(i) + "]";
    const toml::table* t = el.as_table();
    if (!t) {
      r.error(Reader::pos(el), p + " must be a table ([[mounts]]), not " + type_name(el));
      continue;
    }
    r.record(p, Reader::pos(*t));
    r.check_keys(*t, "[[mounts]]", {"source", "volume", "target", "mode", "exclude", "cache"});
    Mount m;
    m.pos = Reader::pos(*t);
    bool ok = true;
    if (t->get("source") && t->get("volume")) {
      r.error(Reader::pos(*t->get("volume")), p + " has both source and volume: a mount serves either a host "
                                                  "directory (source) or a named volume (volume)");
      ok = false;
    }
    if (auto v = r.get_string(*t, "volume", p + ".volume")) {
      if (!is_volume_name(v->value)) {
        r.error(v->pos, p + ".volume \"" + v->value + "\" must match [a-z0-9][a-z0-9._-]* (at most 63 characters)");
        ok = false;
      }
      for (const auto& other : c.mounts)
        if (ok && other.volume == v->value) {
          r.error(v->pos, p + ".volume \"" + v->value + "\" is already mounted by the mount at line " +
                              std::to_string(other.pos.line));
          ok = false;
        }
      m.volume = v->value;
      if (const toml::node* ex = t->get("exclude"))
        r.error(Reader::pos(*ex), p + ".exclude applies to host directories (source); a volume holds only what "
                                      "sandboxes wrote to it");
    } else if (t->get("volume")) {
      ok = false;
    } else if (auto s = r.get_string(*t, "source", p + ".source")) {
      if (s->value.empty()) {
        r.error(s->pos, p + ".source must not be empty (use \".\" for the Matchlockfile's directory)");
        ok = false;
      } else if (s->value.starts_with("~")) {
        r.error(s->pos,
                p + ".source: \"~\" is not expanded; use an absolute path or one relative to the Matchlockfile");
        ok = false;
      }
      m.source_text = s->value;
      m.source = resolve_host_path(c.base_dir, s->value);
    } else {
      if (!t->get("source")) r.error(m.pos, p + " needs source = \"HOST PATH\" (or volume = \"NAME\")");
      ok = false;
    }
    if (auto g = r.get_string(*t, "target", p + ".target")) {
      m.target = guest_path(r, *g, p + ".target");
      if (m.target == "/") {
        r.error(g->pos, p + ".target must not be / (the guest's root)");
        m.target.clear();
      }
      if (m.target.empty()) ok = false;
      for (size_t j = 0; ok && j < c.mounts.size(); ++j) {
        if (c.mounts[j].target == m.target) {
          r.error(g->pos, p + ".target \"" + m.target + "\" is already used by the mount at line " +
                              std::to_string(c.mounts[j].pos.line));
          ok = false;
        }
      }
    } else {
      if (!t->get("target")) r.error(m.pos, p + " needs target = \"/ABSOLUTE/GUEST/PATH\"");
      ok = false;
    }
    if (auto mode = r.get_string(*t, "mode", p + ".mode")) {
      if (mode->value == "rw")
        m.mode = MountMode::Rw;
      else if (mode->value == "ro")
        m.mode = MountMode::Ro;
      else if (mode->value == "snapshot")
        m.mode = MountMode::Snapshot;
      else if (mode->value == "git")
        m.mode = MountMode::Git;
      else
        r.error(mode->pos, p + ".mode \"" + mode->value + "\" must be one of rw, ro, snapshot, git");
      if (!m.volume.empty() && (m.mode == MountMode::Snapshot || m.mode == MountMode::Git))
        r.error(mode->pos, p + ".mode \"" + mode->value + "\" needs a host source; a volume is rw or ro");
    }
    if (auto cache = r.get_string(*t, "cache", p + ".cache")) {
      if (cache->value == "auto")
        m.cache = MountCache::Auto;
      else if (cache->value == "none")
        m.cache = MountCache::None;
      else
        r.error(cache->pos, p + ".cache \"" + cache->value + "\" must be auto or none");
    }
    if (auto ex = m.volume.empty() ? r.get_strings(*t, "exclude", p + ".exclude") : std::nullopt) {
      for (auto& g : *ex) {
        auto valid = util::normalize_path_glob(g.value);
        if (!valid)
          r.error(g.pos, p + ".exclude: " + valid.error().message());
        else
          m.exclude.push_back(*valid);
      }
    }
    if (ok) c.mounts.push_back(std::move(m));
  }
}

void parse_ports(Reader& r, const toml::table& root) {
  Config& c = r.config();
  if (const toml::node* n = root.get("ports"); n && n->is_string()) {  // ports = "auto" (engine/port_watch.hpp)
    r.record("ports", Reader::pos(*n));
    if (n->as_string()->get() == "auto")
      c.ports_auto = true;
    else
      r.error(Reader::pos(*n), "ports must be \"auto\" or [[ports]] tables, not \"" + n->as_string()->get() + "\"");
    return;
  }
  const toml::array* a = r.get_array(root, "ports", "ports");
  if (!a) return;
  for (size_t i = 0; i < a->size(); ++i) {
    const toml::node& el = *a->get(i);
    std::string p = "ports[" + std::to_string(i) + "]";
    const toml::table* t = el.as_table();
    if (!t) {
      r.error(Reader::pos(el), p + " must be a table ([[ports]]), not " + type_name(el));
      continue;
    }
    r.record(p, Reader::pos(*t));
    r.check_keys(*t, "[[ports]]", {"host", "guest", "protocol"});
    Port port;
    port.pos = Reader::pos(*t);
    bool ok = true;
    for (auto [key, field] : {std::pair{"host", &port.host}, std::pair{"guest", &port.guest}}) {
      auto v = r.get_int(*t, key, p + "." + key);
      if (!v) {
        if (!t->get(key)) r.error(port.pos, p + " needs " + key + " = PORT");
        ok = false;
      } else if (v->value < 1 || v->value > 65535) {
        r.error(v->pos, p + "." + key + " must be 1..65535");
        ok = false;
      } else {
        *field = static_cast<uint16_t>(v->value);
      }
    }
    if (auto proto = r.get_string(*t, "protocol", p + ".protocol")) {
      if (proto->value != "tcp") r.error(proto->pos, p + ".protocol \"" + proto->value + "\" must be \"tcp\"");
    }
    if (ok) {
      for (const auto& other : c.ports)
        if (other.host == port.host) {
          r.error(Reader::pos(*t->get("host")), p + ".host " + std::to_string(port.host) +
                                                    " is already forwarded by the port at line " +
                                                    std::to_string(other.pos.line));
          ok = false;
        }
    }
    if (ok) c.ports.push_back(port);
  }
}

}  // namespace engine::detail
