// From the Matchlockfile's [network] and [secrets] to what net/ enforces:
// the Policy (also used by `matchlock net why` without a sandbox), the secret
// table (values read only here, when a sandbox starts) and the audit path.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "engine/config.hpp"
#include "engine/secret_files.hpp"
#include "net/policy.hpp"
#include "net/proxy.hpp"
#include "net/secrets.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

// network.allow, network.deny, block_private, every secret's hosts (implicitly allowed)
// and the host services of [network.services].
net::Policy network_policy(const Config& config);

// Reads every secret's value (env:VAR, file:PATH, cmd:COMMAND; a trailing newline is
// dropped) and pairs it with a fresh MATCHLOCK_SECRET_<32 hex> placeholder (a json
// secret: one per listed field, named NAME.FIELD), and renders the secret files
// (engine/secret_files.hpp). Errors name the secret and its source, never a value.
struct LoadedSecrets {
  std::shared_ptr<net::SecretTable> table;
  std::map<std::string, std::string> env;  // NAME -> placeholder (json secrets have none)
  std::vector<GuestSecretFile> files;      // placeholders only
};
util::Result<LoadedSecrets> load_secrets(const Config& config);

// The same with the two steps supplied, so `matchlock gateway` binds its secrets with this
// code too (engine/gateway_setup.hpp): READ returns a secret's raw bytes (the same checks
// then apply: a trailing newline dropped, not empty, at most 1 MiB, one line unless json);
// PLACEHOLDER gives the placeholder of a binding NAME (NAME or NAME.FIELD).
using SecretReader = std::function<util::Result<std::string>(const Secret&)>;
using PlaceholderSource = std::function<util::Result<std::string>(std::string_view binding_name)>;
enum class SecretFiles { Render, Skip };
util::Result<LoadedSecrets> bind_secrets(const Config& config, const SecretReader& read,
                                         const PlaceholderSource& placeholder, SecretFiles files);
// The local sources: env:, file:, cmd:; k8s: is refused (it exists only in a cluster gateway),
// naming CONFIG's file and the secret's line.
util::Result<std::string> read_local_secret(const Config& config, const Secret& s);
// The first k8s: secret of CONFIG as read_local_secret refuses it (checked before anything
// is pulled or booted: `run`, `up`), else ok.
util::Result<void> refuse_cluster_secrets(const Config& config);
// A file: source's bytes (a regular file of at most 1 MiB); errors name S and PATH.
util::Result<std::string> read_secret_file(const Secret& s, const std::filesystem::path& path);

// <state>/sandboxes/<name>/audit.jsonl
std::filesystem::path audit_path(const util::Dirs& dirs, std::string_view sandbox_name);

// Everything a sandbox's supervisor needs for its network, built once at start:
//   proxy->handler()  -> the FlowHandler for net::Stack::create
//   proxy->admission() -> StackConfig::admit_flow (the sandbox's flow cap, at the SYN)
//   name_allowed      -> StackConfig::name_allowed (DNS answers; audited as kind "dns" by the caller)
//   guest_env         -> NAME=MATCHLOCK_SECRET_... for the guest's environment (never the values)
//   guest_files       -> secret files to write in the guest (placeholders only)
//   ca_pem            -> the per-sandbox CA certificate to install in the guest's trust store
struct SandboxNetwork {
  std::unique_ptr<net::Proxy> proxy;
  std::function<bool(std::string_view)> name_allowed;
  std::map<std::string, std::string> guest_env;
  std::vector<GuestSecretFile> guest_files;
  std::string ca_pem;
  std::shared_ptr<net::Audit> audit;
};

// EXTRA_CA: a PEM file also trusted for upstreams ([network].ca; tests); may be empty.
// SANDBOX_NAME names the audit log (empty: config.name).
util::Result<SandboxNetwork> start_sandbox_network(const util::Dirs& dirs, const Config& config,
                                                   const std::filesystem::path& extra_ca = {},
                                                   std::string_view sandbox_name = {});

}  // namespace engine
