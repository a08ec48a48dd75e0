#include "workspace/git_clone.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <vector>

#include "util/fd.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"
#include "workspace/git_handle.hpp"

namespace workspace {

namespace fs = std::filesystem;
using namespace workspace::git;

namespace {

// Every path whose work-tree state may differ from HEAD: changed in the index
// or the work tree, deleted, or untracked and not ignored. Status is read with
// the index as it is on disk; GIT_STATUS_OPT_UPDATE_INDEX is never set, so the
// user's index file is not rewritten.
util::Result<std::set<std::string>> changed_paths(git_repository* repo) {
  git_status_options opts = GIT_STATUS_OPTIONS_INIT;
  opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  opts.flags =
      GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS | GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
  git_status_list* raw = nullptr;
  ML_TRY(check(git_status_list_new(&raw, repo, &opts), "status"));
  StatusList list(raw);
  std::set<std::string> paths;
  for (size_t i = 0, n = git_status_list_entrycount(raw); i < n; ++i) {
    const git_status_entry* e = git_status_byindex(raw, i);
    if (!e || e->status == GIT_STATUS_CURRENT) continue;
    for (const git_diff_delta* d : {e->head_to_index, e->index_to_workdir}) {
      if (!d) continue;
      if (d->old_file.path) paths.insert(d->old_file.path);
      if (d->new_file.path) paths.insert(d->new_file.path);
    }
  }
  return paths;
}

// The blob of a regular file as `git add` would store it (clean filters such
// as autocrlf applied, read with the user's attributes) written into CLONE.
util::Result<git_oid> file_blob(git_repository* user, git_repository* clone, const std::string& rel,
                                const fs::path& abs) {
  git_oid oid;
  git_filter_list* raw = nullptr;
  ML_TRY(check(git_filter_list_load(&raw, user, nullptr, rel.c_str(), GIT_FILTER_TO_ODB, GIT_FILTER_DEFAULT),
               "filters for " + rel));
  if (raw) {
    FilterList filters(raw);
    git_buf out{};
    ML_TRY(check(git_filter_list_apply_to_file(&out, raw, user, rel.c_str()), "filter " + rel));
    int rc = git_blob_create_from_buffer(&oid, clone, out.ptr, out.size);
    git_buf_dispose(&out);
    ML_TRY(check(rc, "store " + rel));
    return oid;
  }
  std::string data = ML_TRY(util::read_file(abs));
  ML_TRY(check(git_blob_create_from_buffer(&oid, clone, data.data(), data.size()), "store " + rel));
  return oid;
}

// Applies the work tree's state of PATHS to INDEX; blobs go to CLONE's odb.
util::Result<void> apply_worktree(git_repository* user, git_repository* clone, git_index* index, const fs::path& root,
                                  const std::set<std::string>& paths) {
  std::vector<std::pair<std::string, struct stat>> present;
  for (const auto& rel : paths) {
    fs::path abs = root / rel;
    struct stat st {};
    if (::lstat(abs.c_str(), &st) != 0) {
      if (errno != ENOENT && errno != ENOTDIR) return util::sys_error("lstat", abs);
      st.st_mode = 0;
    }
    if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
      present.emplace_back(rel, st);
    } else {
      // Deleted, or replaced by a directory (its files are listed on their own).
      int rc = git_index_remove(index, rel.c_str(), 0);
      if (rc < 0 && rc != GIT_ENOTFOUND) return error("remove " + rel);
    }
  }
  for (const auto& [rel, st] : present) {
    fs::path abs = root / rel;
    git_index_entry entry{};
    entry.path = rel.c_str();
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlink(abs.c_str(), target.data(), target.size());
      if (n < 0) return util::sys_error("readlink", abs);
      ML_TRY(
          check(git_blob_create_from_buffer(&entry.id, clone, target.data(), static_cast<size_t>(n)), "store " + rel));
      entry.mode = GIT_FILEMODE_LINK;
    } else {
      entry.id = ML_TRY(file_blob(user, clone, rel, abs));
      entry.mode = (st.st_mode & 0100) ? GIT_FILEMODE_BLOB_EXECUTABLE : GIT_FILEMODE_BLOB;
    }
    ML_TRY(check(git_index_add(index, &entry), "add " + rel));
  }
  return util::ok();
}

util::Result<Signature> signature(git_repository* user) {
  git_signature* raw = nullptr;
  if (git_signature_default(&raw, user) == 0) return Signature(raw);
  ML_TRY(check(git_signature_now(&raw, "matchlock", "matchlock@localhost"), "signature"));
  return Signature(raw);
}

// Records the user's uncommitted work as one commit on k_work_branch in CLONE
// and checks it out. Returns false when the work tree equals HEAD after all.
util::Result<bool> record_work(git_repository* user, git_repository* clone, const fs::path& root,
                               std::string_view sandbox) {
  auto paths = ML_TRY(changed_paths(user));
  if (paths.empty()) return false;

  git_index* raw_index = nullptr;
  ML_TRY(check(git_index_new(&raw_index), "index"));
  Index index(raw_index);
  Commit parent;
  git_oid base_tree{};
  bool unborn = git_repository_head_unborn(clone) == 1;
  if (!unborn) {
    git_object* obj = nullptr;
    ML_TRY(check(git_revparse_single(&obj, clone, "HEAD^{commit}"), "clone HEAD"));
    parent.reset(reinterpret_cast<git_commit*>(obj));
    git_tree* tree = nullptr;
    ML_TRY(check(git_commit_tree(&tree, parent.get()), "HEAD tree"));
    Tree head_tree(tree);
    base_tree = *git_tree_id(tree);
    ML_TRY(check(git_index_read_tree(raw_index, tree), "read HEAD tree"));
  }
  ML_TRY(apply_worktree(user, clone, raw_index, root, paths));
  git_oid tree_oid;
  ML_TRY(check(git_index_write_tree_to(&tree_oid, raw_index, clone), "write tree"));
  if (!unborn && git_oid_equal(&tree_oid, &base_tree)) return false;

  git_tree* tree_raw = nullptr;
  ML_TRY(check(git_tree_lookup(&tree_raw, clone, &tree_oid), "tree"));
  Tree tree(tree_raw);
  Signature sig = ML_TRY(signature(user));
  std::string message = "matchlock: uncommitted changes\n\nThe work tree of " + root.string() +
                        " (staged, unstaged and untracked files) when sandbox " + std::string(sandbox) + " started.\n";
  const git_commit* parents[1] = {parent.get()};
  std::string ref = "refs/heads/" + std::string(k_work_branch);
  git_oid commit_oid;
  ML_TRY(check(git_commit_create(&commit_oid, clone, ref.c_str(), sig.get(), sig.get(), "UTF-8", message.c_str(),
                                 tree.get(), unborn ? 0 : 1, parents),
               "commit uncommitted changes"));
  ML_TRY(check(git_repository_set_head(clone, ref.c_str()), "check out " + ref));
  git_checkout_options co = GIT_CHECKOUT_OPTIONS_INIT;
  co.checkout_strategy = GIT_CHECKOUT_FORCE;
  ML_TRY(check(git_checkout_head(clone, &co), "check out " + ref));
  return true;
}

// Makes CLONE's HEAD the same commit as the user's HEAD (clone handles the
// branch case; a detached HEAD is detached in the clone too).
util::Result<void> match_head(git_repository* user, git_repository* clone) {
  if (git_repository_head_unborn(user) == 1) return util::ok();
  git_object* u = nullptr;
  ML_TRY(check(git_revparse_single(&u, user, "HEAD^{commit}"), "HEAD"));
  Object user_head(u);
  git_object* c = nullptr;
  if (git_revparse_single(&c, clone, "HEAD^{commit}") == 0) {
    Object clone_head(c);
    if (git_oid_equal(git_object_id(u), git_object_id(c))) return util::ok();
  }
  ML_TRY(check(git_repository_set_head_detached(clone, git_object_id(u)), "detach clone HEAD"));
  git_checkout_options co = GIT_CHECKOUT_OPTIONS_INIT;
  co.checkout_strategy = GIT_CHECKOUT_FORCE;
  return check(git_checkout_head(clone, &co), "check out HEAD");
}

util::Result<GitClone> describe(const fs::path& dir, bool work_commit, bool reused) {
  Repo repo = ML_TRY(open_worktree(dir.string()));
  GitClone out{dir, "", "", work_commit, reused};
  git_reference* raw = nullptr;
  if (git_repository_head(&raw, repo.get()) == 0) {
    Reference head(raw);
    if (git_reference_is_branch(raw)) out.branch = git_reference_shorthand(raw);
    if (const git_oid* oid = git_reference_target(raw)) out.head = oid_hex(*oid);
  }
  return out;
}

}  // namespace

util::Result<GitClone> prepare_git_clone(const fs::path& repo_dir, const fs::path& clone_dir,
                                         std::string_view sandbox_name) {
  Library lib;
  std::error_code ec;
  if (fs::exists(clone_dir / ".git", ec)) return describe(clone_dir, false, true);
  if (fs::exists(clone_dir, ec) && !fs::is_empty(clone_dir, ec))
    return util::make_error(util::ErrorCode::Io, clone_dir.string() + " exists and is not a git clone");

  Repo user = ML_TRY_CTX(open_worktree(repo_dir.string()), "git mount");
  fs::path root = fs::path(git_repository_workdir(user.get())).lexically_normal();
  ML_TRY(util::make_dirs(clone_dir.parent_path(), 0700));
  auto tmp = ML_TRY(util::TempDir::create(clone_dir.parent_path(), "." + clone_dir.filename().string() + ".partial-"));

  git_clone_options opts = GIT_CLONE_OPTIONS_INIT;
  opts.local = GIT_CLONE_LOCAL_NO_LINKS;  // copy objects: the clone is writable by the guest
  opts.checkout_opts.checkout_strategy = GIT_CHECKOUT_SAFE;
  git_repository* raw = nullptr;
  ML_TRY(
      check(git_clone(&raw, git_repository_path(user.get()), tmp.path().c_str(), &opts), "clone " + repo_dir.string()));
  Repo clone(raw);
  ML_TRY(match_head(user.get(), raw));
  bool work = ML_TRY_CTX(record_work(user.get(), raw, root, sandbox_name),
                         "record uncommitted changes of " + repo_dir.string());
  clone.reset();

  fs::remove(clone_dir, ec);  // an empty directory (rename(2) would replace it anyway)
  if (::rename(tmp.path().c_str(), clone_dir.c_str()) != 0) return util::sys_error("rename to", clone_dir);
  tmp.release();
  return describe(clone_dir, work, false);
}

}  // namespace workspace
