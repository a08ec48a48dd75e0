// Trust approval: before the first `up`/`run` of a Matchlockfile, and after any change
// that widens what it lets a sandbox reach (network, secrets, mounts), the user approves
// the policy on a TTY, or passes --trust (CI). Approvals live in the state dir, outside
// the repository, keyed by the Matchlockfile's absolute path; each stores the grants
// approved and their hash. Narrowing changes need no new approval.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

// One line per thing the file lets out, canonical and sorted:
//   "network allow *.github.com", "network deny gist.github.com", "network block_private off",
//   "network service postgres.host.internal:5432 -> 127.0.0.1:5432",
//   "secret GH_TOKEN from env:GH_TOKEN to api.github.com inject header,query,basic",
//   "mount /home/me/proj -> /workspace rw"
std::vector<std::string> trust_grants(const Config& config);
std::string grants_hash(const std::vector<std::string>& grants);

// What NEW grants add over APPROVED ones (a removed deny entry or block_private turned
// off widens; removing an allow entry does not).
std::vector<std::string> widenings(const std::vector<std::string>& approved, const std::vector<std::string>& grants);

std::filesystem::path approval_path(const util::Dirs& dirs, const std::filesystem::path& matchlockfile);
// The approved grants for the file, or an empty list when never approved.
util::Result<std::vector<std::string>> load_approval(const util::Dirs& dirs,
                                                     const std::filesystem::path& matchlockfile);
util::Result<void> save_approval(const util::Dirs& dirs, const std::filesystem::path& matchlockfile,
                                 const std::vector<std::string>& grants);

enum class TrustFlag { Ask, Granted };  // Granted: --trust given

// Ok when approved before (nothing widened), when --trust was given, or when the user
// answers "y" on the TTY IN_FD (the grants and what widened are printed to OUT).
// Otherwise ErrorCode::Denied, saying what needs approval and how to give it.
util::Result<void> ensure_trusted(const util::Dirs& dirs, const Config& config, TrustFlag flag, int in_fd,
                                  std::FILE* out);

}  // namespace engine
