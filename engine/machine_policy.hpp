// The machine's (or organisation's) policy above every Matchlockfile: policy.toml
// (docs/policy.md). A Matchlockfile is committed by whoever wrote the repository; the
// policy is written by whoever owns the machine and bounds what any Matchlockfile may
// grant: hosts never reachable, hosts reachable everywhere, which secret sources may be
// used, which host directories outside the project may be mounted, whether named volumes
// and secret files may be used, block_private, and the largest cpus/memory/disk.
//
// Two files apply when they exist, both of them: the system's (/etc/matchlock/policy.toml,
// or $MATCHLOCK_SYSTEM_POLICY) and the user's ($XDG_CONFIG_HOME/matchlock/policy.toml).
// A Matchlockfile that asks for more than either allows is refused before anything boots,
// with every violation listed ("Matchlockfile:LINE:COL: exceeds POLICY:LINE: ..."). The
// policy binds committed files, not the local user (who can edit it or run another
// build): it is not a sandbox boundary of its own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"
#include "engine/diagnostics.hpp"
#include "net/rule.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

template <class T>
struct PolicyValue {
  T value;
  int line = 0;  // in the policy file
};

struct MachinePolicy {
  std::filesystem::path file;
  std::vector<PolicyValue<net::Rule>> deny;            // [network].deny: never reachable
  std::vector<PolicyValue<net::Rule>> allow;           // [network].allow: reachable from every sandbox
  std::optional<PolicyValue<bool>> block_private_off;  // [network].allow_block_private_off
  std::optional<PolicyValue<std::vector<SecretSource>>> secret_sources;    // [secrets].sources
  std::optional<PolicyValue<bool>> secret_files;                           // [secrets].files
  std::optional<PolicyValue<std::vector<std::filesystem::path>>> outside;  // [mounts].outside_project
  std::optional<PolicyValue<bool>> volumes;                                // [mounts].volumes
  std::optional<PolicyValue<int64_t>> max_cpus;                            // [sandbox].max_cpus
  std::optional<PolicyValue<uint64_t>> max_memory;                         // [sandbox].max_memory
  std::optional<PolicyValue<uint64_t>> max_disk;                           // [sandbox].max_disk
};

struct PolicyParseResult {
  std::optional<MachinePolicy> policy;  // set when there were no errors
  Diagnostics diagnostics;
};
// Strict: unknown keys, wrong types and bad rules/sizes/paths are errors with line:col.
// HOME expands "~/" in [mounts].outside_project (empty HOME: such entries are errors).
PolicyParseResult parse_machine_policy(std::string_view text, const std::filesystem::path& display_path,
                                       const std::filesystem::path& home);

// The policy files that apply, system first; only those that exist are read.
std::vector<std::filesystem::path> machine_policy_paths(const util::Dirs& dirs);
// Every applicable policy; a file that cannot be read or parsed is a Config error
// (fail closed: a broken policy refuses every Matchlockfile until fixed).
util::Result<std::vector<MachinePolicy>> load_machine_policies(const util::Dirs& dirs);

// Checks CONFIG against POLICIES: each violation goes into DIAGS at the position of what
// the Matchlockfile asked for. Without violations, CONFIG.policy records the effects
// (rules added, what was cut) that network_policy(), the trust prompt, `config` and
// `up --dry-run` show.
void apply_machine_policies(Config& config, const std::vector<MachinePolicy>& policies, Diagnostics& diags);

// load_machine_policies + apply_machine_policies on CONFIG: a Config error listing every
// violation as "FILE:LINE:COL: exceeds POLICY:LINE: ..." (exit 2).
util::Result<void> bound_by_machine_policy(const util::Dirs& dirs, Config& config);

}  // namespace engine
