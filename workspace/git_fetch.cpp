#include "workspace/git_fetch.hpp"

#include <map>
#include <optional>

#include "workspace/git_handle.hpp"

namespace workspace {

namespace fs = std::filesystem;
using namespace workspace::git;

namespace {

// Local branches of the clone: name -> oid. The clone is guest-writable, so it
// is opened without searching upward and refused when it borrows objects from
// elsewhere (an alternates file could make the fetch copy other repositories'
// objects into the user's repository).
util::Result<std::map<std::string, git_oid>> clone_branches(const fs::path& clone_dir) {
  std::error_code ec;
  if (fs::exists(clone_dir / ".git" / "objects" / "info" / "alternates", ec) ||
      fs::exists(clone_dir / ".git" / "commondir", ec))
    return util::make_error(
        util::ErrorCode::Denied,
        clone_dir.string() + ": the clone refers to objects outside itself (alternates/commondir); not fetching");
  if (!fs::is_directory(fs::symlink_status(clone_dir / ".git", ec)))
    return util::make_error(util::ErrorCode::Denied, clone_dir.string() + "/.git is not a directory; not fetching");
  Repo repo = ML_TRY(open_worktree(clone_dir.string()));
  git_branch_iterator* raw = nullptr;
  ML_TRY(check(git_branch_iterator_new(&raw, repo.get(), GIT_BRANCH_LOCAL), "list branches of " + clone_dir.string()));
  BranchIter it(raw);
  std::map<std::string, git_oid> out;
  git_reference* ref = nullptr;
  git_branch_t type;
  int rc;
  while ((rc = git_branch_next(&ref, &type, raw)) == 0) {
    Reference owned(ref);
    git_reference* resolved = nullptr;
    if (git_reference_resolve(&resolved, ref) < 0) continue;  // dangling symbolic ref
    Reference r(resolved);
    const char* name = nullptr;
    if (git_branch_name(&name, ref) < 0 || !git_reference_target(resolved)) continue;
    out.emplace(name, *git_reference_target(resolved));
  }
  if (rc != GIT_ITEROVER) return error("list branches of " + clone_dir.string());
  return out;
}

// The oid a ref points to in REPO, if it exists.
std::optional<git_oid> ref_oid(git_repository* repo, const std::string& name) {
  git_oid oid;
  if (git_reference_name_to_id(&oid, repo, name.c_str()) == 0) return oid;
  return std::nullopt;
}

}  // namespace

std::string fetch_namespace(std::string_view sandbox_name) {
  return "refs/heads/matchlock/" + std::string(sandbox_name) + "/";
}

util::Result<std::vector<BranchUpdate>> fetch_branches(const fs::path& clone_dir, const fs::path& repo_dir,
                                                       std::string_view sandbox_name) {
  Library lib;
  if (sandbox_name.empty() || sandbox_name.find('/') != std::string_view::npos)
    return util::make_error(util::ErrorCode::Usage,
                            "bad sandbox name for a branch namespace: '" + std::string(sandbox_name) + "'");
  auto branches = ML_TRY(clone_branches(clone_dir));
  Repo user = ML_TRY_CTX(open_worktree(repo_dir.string()), "fetch into");

  // What HEAD points to in the user's repo is never moved under them.
  std::string head_ref;
  git_reference* head = nullptr;
  if (git_reference_lookup(&head, user.get(), "HEAD") == 0) {
    Reference h(head);
    if (git_reference_type(head) == GIT_REFERENCE_SYMBOLIC) head_ref = git_reference_symbolic_target(head);
  }

  std::vector<BranchUpdate> updates;
  std::vector<std::string> specs;
  for (const auto& [branch, oid] : branches) {
    BranchUpdate u{branch, fetch_namespace(sandbox_name) + branch, "", oid_hex(oid), false};
    if (!git_reference_is_valid_name(u.ref.c_str())) continue;
    if (auto old = ref_oid(user.get(), u.ref)) {
      if (git_oid_equal(&*old, &oid)) continue;
      u.old_oid = oid_hex(*old);
    }
    if (u.ref == head_ref) {
      u.skipped = true;
    } else {
      specs.push_back("+refs/heads/" + branch + ":" + u.ref);
    }
    updates.push_back(std::move(u));
  }
  if (specs.empty()) return updates;

  // Download only (objects into the user's odb); the refs are then written
  // here, one by one, so nothing else (FETCH_HEAD, remote-tracking refs) changes.
  git_remote* raw = nullptr;
  ML_TRY(check(git_remote_create_anonymous(&raw, user.get(), clone_dir.c_str()), "remote " + clone_dir.string()));
  Remote remote(raw);
  std::vector<char*> ptrs;
  for (auto& s : specs) ptrs.push_back(s.data());
  git_strarray refspecs{ptrs.data(), ptrs.size()};
  git_fetch_options opts = GIT_FETCH_OPTIONS_INIT;
  opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
  ML_TRY(check(git_remote_download(raw, &refspecs, &opts), "fetch from " + clone_dir.string()));
  git_remote_disconnect(raw);

  git_odb* odb_raw = nullptr;
  ML_TRY(check(git_repository_odb(&odb_raw, user.get()), "odb"));
  Odb odb(odb_raw);
  std::string reflog = "matchlock: fetch-branch from sandbox " + std::string(sandbox_name);
  for (auto& u : updates) {
    if (u.skipped) continue;
    git_oid oid;
    ML_TRY(check(git_oid_fromstr(&oid, u.new_oid.c_str()), "oid"));
    if (!git_odb_exists(odb_raw, &oid))
      return util::make_error(util::ErrorCode::Integrity, "fetch did not bring " + u.new_oid + " for " + u.ref);
    git_reference* ref = nullptr;
    ML_TRY(check(git_reference_create(&ref, user.get(), u.ref.c_str(), &oid, 1, reflog.c_str()), "update " + u.ref));
    git_reference_free(ref);
  }
  return updates;
}

}  // namespace workspace
