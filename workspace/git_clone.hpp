// Git mode (docs/workspace-git.md), host side: clone the user's repository at
// HEAD into the sandbox's state dir, carrying uncommitted work as one commit on
// a work branch. The user's repository, index and work tree are only read.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace workspace {

// The branch that holds the user's uncommitted changes in the clone.
inline constexpr std::string_view k_work_branch = "matchlock/work";

struct GitClone {
  std::filesystem::path dir;  // the clone's work tree (what the guest sees)
  std::string branch;         // checked out: HEAD's branch, k_work_branch, or "" (detached)
  std::string head;           // oid (hex) checked out; "" in an empty repository
  bool work_commit = false;   // uncommitted changes were recorded as a commit
  bool reused = false;        // CLONE_DIR already held a clone (a kept sandbox); left as it was
};

// Clones REPO_DIR (the top of a non-bare work tree) into CLONE_DIR, which must
// not exist or be empty; an existing clone is reused as it is. Objects are
// copied, never hard-linked. Staged, unstaged and untracked-but-not-ignored
// changes become one commit on k_work_branch (parent: HEAD), which is checked
// out; a clean tree checks out HEAD's branch. SANDBOX names the commit.
util::Result<GitClone> prepare_git_clone(const std::filesystem::path& repo_dir, const std::filesystem::path& clone_dir,
                                         std::string_view sandbox_name);

}  // namespace workspace
