// Thin RAII owners for libgit2 objects and the one place libgit2 errors become
// util::Error. Used only by workspace/git_*.cpp; nothing here runs the git CLI.
#pragma once

#include <git2.h>

#include <memory>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace workspace::git {

// Keeps libgit2 initialised while alive (git_libgit2_init is reference counted).
class Library {
 public:
  Library() { git_libgit2_init(); }
  ~Library() { git_libgit2_shutdown(); }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
};

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
template <class T, void (*Free)(T*)>
using Handle = std::unique_ptr<T, Deleter<T, Free>>;

using Repo = Handle<git_repository, git_repository_free>;
using Index = Handle<git_index, git_index_free>;
using Commit = Handle<git_commit, git_commit_free>;
using Tree = Handle<git_tree, git_tree_free>;
using Reference = Handle<git_reference, git_reference_free>;
using Remote = Handle<git_remote, git_remote_free>;
using Signature = Handle<git_signature, git_signature_free>;
using StatusList = Handle<git_status_list, git_status_list_free>;
using BranchIter = Handle<git_branch_iterator, git_branch_iterator_free>;
using FilterList = Handle<git_filter_list, git_filter_list_free>;
using Object = Handle<git_object, git_object_free>;
using Odb = Handle<git_odb, git_odb_free>;

// "WHAT: <libgit2's last error message>" with CODE.
util::Error error(std::string_view what, util::ErrorCode code = util::ErrorCode::Io);

// Calls a libgit2 function returning int; < 0 becomes error(WHAT).
inline util::Result<void> check(int rc, std::string_view what) {
  if (rc < 0) return error(what);
  return util::ok();
}

std::string oid_hex(const git_oid& oid);

// Opens the repository whose work tree top is exactly DIR (no upward search).
util::Result<Repo> open_worktree(const std::string& dir);

}  // namespace workspace::git
