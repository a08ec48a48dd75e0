// engine::Config: the resolved Matchlockfile v1 (docs/matchlockfile.md).
// Plain data with every default filled in; relative host paths are already
// resolved against the Matchlockfile's directory. Produced by
// engine::parse_config / engine::load_config (engine/config_parse.hpp).
// Field names are stable: other layers (VM, network, workspace) consume them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/host_service.hpp"
#include "net/rule.hpp"
#include "oci/reference.hpp"

namespace engine {

// 1-based line and column in the Matchlockfile; 0/0 when unknown (a default).
struct SourcePos {
  int line = 0;
  int column = 0;
  bool known() const { return line > 0; }
  bool operator==(const SourcePos&) const = default;
  auto operator<=>(const SourcePos&) const = default;
};

inline constexpr uint64_t k_kib = 1024;
inline constexpr uint64_t k_mib = 1024 * k_kib;
inline constexpr uint64_t k_gib = 1024 * k_mib;
inline constexpr int k_default_cpus = 2;
inline constexpr uint64_t k_default_memory = 2 * k_gib;
inline constexpr uint64_t k_default_disk = 8 * k_gib;
inline constexpr uint64_t k_min_memory = 128 * k_mib;

enum class Backend { Auto, Qemu, Firecracker, Gvisor, Vz };
enum class KernelKind { Default, Path, Reference };
enum class MountMode { Rw, Ro, Snapshot, Git };
enum class MountCache { Auto, None };  // workspace::CachePolicy
// K8s: a key of a Kubernetes Secret ("k8s:SECRET/KEY"), read only by `matchlock gateway`.
enum class SecretSource { Env, File, Cmd, K8s };
enum class PortProtocol { Tcp };

struct Kernel {
  KernelKind kind = KernelKind::Default;
  std::filesystem::path path;    // KernelKind::Path, absolute
  oci::Reference reference;      // KernelKind::Reference
  std::string text = "default";  // as written
};

struct Sandbox {
  std::string image_text;  // as written in the file
  oci::Reference image;    // normalised; offline kinds carry an absolute path
  std::string platform;    // "os/arch[/variant]"; empty = the host's platform
  int cpus = k_default_cpus;
  uint64_t memory_bytes = k_default_memory;
  uint64_t disk_bytes = k_default_disk;
  Backend backend = Backend::Auto;
  Kernel kernel;
  std::string user;      // empty = the image's user
  std::string workdir;   // empty = the image's working dir (absolute guest path otherwise)
  std::string hostname;  // defaults to Config::name
  std::map<std::string, std::string> env;
  bool snapshot = true;  // memory snapshots (docs/matchlockfile.md): false always boots cold
};

struct Mount {
  std::string source_text;       // as written
  std::filesystem::path source;  // absolute host path; empty for a volume (engine/volumes.hpp finds it)
  std::string target;            // absolute guest path, normalised (no trailing '/')
  MountMode mode = MountMode::Rw;
  std::vector<std::string> exclude;  // globs, normalised (util::normalize_path_glob)
  MountCache cache = MountCache::Auto;
  SourcePos pos;       // the [[mounts]] entry
  std::string volume;  // a named volume ([a-z0-9][a-z0-9._-]*) instead of a host source
};

// [network.services]: NAME = "ADDRESS:PORT" or { to = "ADDRESS:PORT", port = GUEST_PORT }.
// The guest reaches NAME.host.internal:PORT; the supervisor connects to ADDRESS:TO_PORT.
struct Service {
  std::string name;   // a DNS label (net::is_valid_service_name)
  uint16_t port = 0;  // the guest-side port (default: TO_PORT)
  net::Ipv4 address;  // host side, an IPv4 literal
  uint16_t to_port = 0;
  SourcePos pos;
  net::HostService endpoint() const { return {name, port, address, to_port}; }
  // "postgres.host.internal:5432 -> 127.0.0.1:5432" (trust prompt, plan, config).
  std::string text() const {
    auto e = endpoint();
    return e.guest_name() + ":" + std::to_string(port) + " -> " + e.target();
  }
};

struct NetworkPolicy {
  std::vector<net::Rule> allow;   // hosts bound to secrets are NOT copied here; see allowed_rules()
  std::vector<net::Rule> deny;    // deny wins over allow
  bool block_private = true;      // refuse RFC 1918 / loopback / link-local destinations
  std::filesystem::path ca;       // extra PEM trusted for upstream TLS (besides the system store); empty = none
  std::vector<Service> services;  // sorted by name
};

struct InjectSet {
  bool header = true;
  bool query = true;
  bool basic = true;
  bool operator==(const InjectSet&) const = default;
};

struct Secret {
  std::string name;  // a valid environment variable name
  SecretSource source = SecretSource::Env;
  // VAR, PATH (absolute, or "~/..." for $HOME), COMMAND or SECRET/KEY; never the secret itself
  std::string source_value;
  std::string from_text;         // as written ("env:ANTHROPIC_API_KEY")
  std::vector<net::Rule> hosts;  // where the real value may be sent (non-empty)
  InjectSet inject;
  // Secret files (engine/secret_files.hpp): the secret is also delivered as a file at this
  // guest path ("/abs", or "~/rel" in the home of the sandbox's user); "" = none. Its
  // content: TEMPLATE with ${NAME} replaced by placeholders, or the JSON document with
  // each JSON field replaced by its own placeholder, or else the placeholder alone.
  std::string file;
  std::optional<std::string> file_template;
  std::vector<std::string> json;  // dotted field paths ("claudeAiOauth.accessToken"); a document, no env var
  // The OAuth token endpoint ("https://HOST[:PORT]/PATH", canonical; HOST among `hosts`)
  // whose POST bodies get the value (a refresh grant); "" = bodies are never rewritten.
  std::string refresh_url;
  SourcePos pos;
};

struct Task {
  std::string name;
  std::vector<std::string> run;  // argv; a string `run` becomes {"sh", "-c", run}
  bool run_is_shell = false;     // `run` was written as a string
  std::string description;
  std::vector<std::string> needs;  // existing task names; the graph is acyclic
  std::map<std::string, std::string> env;
  std::string workdir;  // empty = sandbox workdir
  std::string user;     // empty = sandbox user
  bool interactive = false;
  bool cache = false;
  std::vector<std::string> inputs;  // globs, relative to the Matchlockfile dir
  SourcePos pos;
};

struct Port {
  uint16_t host = 0;
  uint16_t guest = 0;
  PortProtocol protocol = PortProtocol::Tcp;
  SourcePos pos;
};

// What the machine's policy.toml did to this file (engine/machine_policy.hpp); empty
// when no policy applies. Filled by apply_machine_policies, never by the parser.
struct PolicyEffects {
  std::vector<std::filesystem::path> files;  // the policy files applied
  std::vector<net::Rule> allow;              // reachable everywhere: added to the allow list
  std::vector<net::Rule> deny;               // never reachable: added to the deny list (deny wins)
  std::vector<std::string> allowed;  // for people: "network allow deb.debian.org (/etc/matchlock/policy.toml:4)"
  std::vector<std::string> cut;      // for people: what the file asked for that the policy narrows
};

struct Config {
  std::filesystem::path file;      // the Matchlockfile (absolute when loaded from disk)
  std::filesystem::path base_dir;  // its directory; relative paths resolve here
  int version = 1;
  std::string name;             // default: base_dir's name, sanitised
  std::vector<std::string> up;  // tasks run by `matchlock up`
  std::string default_task;     // empty = none
  Sandbox sandbox;
  std::vector<Mount> mounts;
  NetworkPolicy network;
  std::vector<Secret> secrets;  // sorted by name
  std::vector<Task> tasks;      // sorted by name
  std::vector<Port> ports;
  bool ports_auto = false;  // ports = "auto": forward every guest listener (engine/port_watch.hpp)
  PolicyEffects policy;

  // Position of every key that was written, by dotted path:
  // "sandbox.image", "mounts[1].target", "tasks.build.run", "secrets.GH.hosts[0]".
  std::map<std::string, SourcePos> positions;

  // The position of KEY, or of the nearest written parent, or {0,0}.
  SourcePos pos(std::string_view key) const;
  // "FILE:LINE:COL" for KEY (or just "FILE" when unknown), for later error messages.
  std::string where(std::string_view key) const;
  const Task* find_task(std::string_view name) const;
  const Secret* find_secret(std::string_view name) const;
  // network.allow plus every secret's hosts (secret hosts are implicitly allowed) plus
  // what the machine policy allows everywhere.
  std::vector<net::Rule> allowed_rules() const;
};

// What a mount serves, for people: the host path, or "volume NAME".
std::string mount_source_label(const Mount& m);

const char* to_string(Backend b);
const char* to_string(MountMode m);
const char* to_string(SecretSource s);
const char* to_string(PortProtocol p);
const char* to_string(KernelKind k);

}  // namespace engine
