#include "workspace/git_handle.hpp"

#include <filesystem>

namespace workspace::git {

util::Error error(std::string_view what, util::ErrorCode code) {
  const git_error* e = git_error_last();
  std::string message = e && e->message ? e->message : "libgit2 failed";
  return util::make_error(code, std::string(what) + ": " + message);
}

std::string oid_hex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return buf;
}

util::Result<Repo> open_worktree(const std::string& dir) {
  git_repository* raw = nullptr;
  if (git_repository_open_ext(&raw, dir.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) < 0) {
    if (git_error_last() && git_error_last()->klass == GIT_ERROR_REPOSITORY)
      return util::make_error(util::ErrorCode::Config, dir + " is not the top of a git work tree");
    return error("open repository " + dir);
  }
  Repo repo(raw);
  if (git_repository_is_bare(raw))
    return util::make_error(util::ErrorCode::Config, dir + " is a bare repository (git mode needs a work tree)");
  return repo;
}

}  // namespace workspace::git
