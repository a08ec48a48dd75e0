// Git mode, the way back: the sandbox's branches become
// refs/heads/matchlock/<sandbox>/<branch> in the user's repository.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace workspace {

struct BranchUpdate {
  std::string branch;   // in the clone ("main", "matchlock/work", "fix")
  std::string ref;      // in the user's repo: "refs/heads/matchlock/<sandbox>/<branch>"
  std::string old_oid;  // "" when the ref is new
  std::string new_oid;
  bool skipped = false;  // the ref is checked out in the user's repo; left alone
};

// Fetches every local branch of CLONE_DIR into REPO_DIR as
// refs/heads/matchlock/<SANDBOX>/<branch>, force-updating only those refs (a
// ref that the user's HEAD points to is skipped). HEAD, the index, the work
// tree, FETCH_HEAD and every other ref of REPO_DIR stay as they were. Returns
// one entry per ref that was created, moved or skipped (unchanged refs omitted).
util::Result<std::vector<BranchUpdate>> fetch_branches(const std::filesystem::path& clone_dir,
                                                       const std::filesystem::path& repo_dir,
                                                       std::string_view sandbox_name);

// "refs/heads/matchlock/<sandbox>/" — the namespace fetch_branches writes.
std::string fetch_namespace(std::string_view sandbox_name);

}  // namespace workspace
