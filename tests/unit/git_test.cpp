// Git mode (workspace/git_clone.hpp, workspace/git_fetch.hpp) against real
// libgit2 repositories in temp dirs.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "git_test_support.hpp"
#include "util/temp_dir.hpp"
#include "workspace/git_clone.hpp"
#include "workspace/git_fetch.hpp"

namespace fs = std::filesystem;
using namespace gitt;

namespace {

struct Fixture {
  Fixture() {
    git_libgit2_init();
    tmp = util::TempDir::create("/tmp", "ml-git-test-").value();
    repo_dir = tmp.path() / "repo";
    repo = init(repo_dir);
    write(repo_dir / "README.md", "hello\n");
    write(repo_dir / "src/main.c", "int main(void) { return 0; }\n");
    write(repo_dir / "gone.txt", "to be deleted\n");
    write(repo_dir / "staged-gone.txt", "to be deleted and staged\n");
    write(repo_dir / "run.sh", "#!/bin/sh\necho hi\n", 0755);
    write(repo_dir / ".gitignore", "*.log\nbuild/\n");
    head = commit_all(repo, "initial");
    clone_dir = tmp.path() / "state" / "git" / "workspace";
  }
  ~Fixture() {
    git_repository_free(repo);
    git_libgit2_shutdown();
  }
  git_repository* open_clone() const {
    git_repository* c = nullptr;
    ok(git_repository_open(&c, clone_dir.c_str()), "open clone");
    return c;
  }
  util::TempDir tmp;
  fs::path repo_dir, clone_dir;
  git_repository* repo = nullptr;
  git_oid head{};
};

// Dirt of every kind: unstaged edit, staged new file, untracked file in a new
// directory, ignored files, a deleted file, a deleted-and-staged file, a symlink.
void make_dirty(Fixture& f) {
  write(f.repo_dir / "README.md", "hello, edited\n");
  write(f.repo_dir / "staged.txt", "staged\n");
  git_index* idx = nullptr;
  ok(git_repository_index(&idx, f.repo), "index");
  ok(git_index_add_bypath(idx, "staged.txt"), "add staged.txt");
  fs::remove(f.repo_dir / "staged-gone.txt");
  ok(git_index_remove_bypath(idx, "staged-gone.txt"), "rm staged-gone.txt");
  ok(git_index_write(idx), "write index");
  git_index_free(idx);
  write(f.repo_dir / "newdir/untracked.txt", "untracked\n");
  write(f.repo_dir / "debug.log", "ignored\n");
  write(f.repo_dir / "build/out.o", "ignored\n");
  fs::remove(f.repo_dir / "gone.txt");
  fs::create_symlink("README.md", f.repo_dir / "link");
}

}  // namespace

TEST_CASE("git clone of a clean tree checks out HEAD's branch") {
  Fixture f;
  auto before = snapshot(f.repo_dir, false);
  auto c = workspace::prepare_git_clone(f.repo_dir, f.clone_dir, "sb");
  REQUIRE(c);
  CHECK(c->dir == f.clone_dir);
  CHECK(c->branch == "main");
  CHECK(c->head == hex(f.head));
  CHECK_FALSE(c->work_commit);
  CHECK_FALSE(c->reused);
  CHECK(read(f.clone_dir / "src/main.c") == "int main(void) { return 0; }\n");
  CHECK((fs::status(f.clone_dir / "run.sh").permissions() & fs::perms::owner_exec) != fs::perms::none);
  CHECK(snapshot(f.repo_dir, false) == before);  // .git included: not even an object was added
  // No temp dirs left beside the clone.
  CHECK(std::distance(fs::directory_iterator(f.clone_dir.parent_path()), {}) == 1);
  // Objects are copied, never hard-linked to the user's (the guest can write the clone).
  for (const auto& e : fs::recursive_directory_iterator(f.clone_dir / ".git" / "objects"))
    if (e.is_regular_file()) CHECK(fs::hard_link_count(e.path()) == 1);

  auto again = workspace::prepare_git_clone(f.repo_dir, f.clone_dir, "sb");
  REQUIRE(again);
  CHECK(again->reused);
  CHECK(again->head == hex(f.head));
}

TEST_CASE("git clone records uncommitted work as one commit on the work branch") {
  Fixture f;
  make_dirty(f);
  auto before = snapshot(f.repo_dir, false);
  auto c = workspace::prepare_git_clone(f.repo_dir, f.clone_dir, "sb");
  REQUIRE(c);
  CHECK(c->branch == workspace::k_work_branch);
  CHECK(c->work_commit);
  CHECK(c->head != hex(f.head));
  CHECK(snapshot(f.repo_dir, false) == before);  // work tree, index, refs, objects: byte-identical

  // The clone's work tree is the user's work tree minus ignored files.
  CHECK(read(f.clone_dir / "README.md") == "hello, edited\n");
  CHECK(read(f.clone_dir / "staged.txt") == "staged\n");
  CHECK(read(f.clone_dir / "newdir/untracked.txt") == "untracked\n");
  CHECK_FALSE(fs::exists(f.clone_dir / "gone.txt"));
  CHECK_FALSE(fs::exists(f.clone_dir / "staged-gone.txt"));
  CHECK_FALSE(fs::exists(f.clone_dir / "debug.log"));
  CHECK_FALSE(fs::exists(f.clone_dir / "build"));
  REQUIRE(fs::is_symlink(f.clone_dir / "link"));
  CHECK(fs::read_symlink(f.clone_dir / "link") == "README.md");
  CHECK((fs::status(f.clone_dir / "run.sh").permissions() & fs::perms::owner_exec) != fs::perms::none);

  // One commit whose parent is the user's HEAD; the clone's status is clean.
  git_repository* clone = f.open_clone();
  git_commit* work = nullptr;
  git_oid work_id;
  ok(git_oid_fromstr(&work_id, c->head.c_str()), "oid");
  ok(git_commit_lookup(&work, clone, &work_id), "work commit");
  REQUIRE(git_commit_parentcount(work) == 1);
  CHECK(hex(*git_commit_parent_id(work, 0)) == hex(f.head));
  CHECK(std::string(git_commit_author(work)->email) == "test@example.org");
  CHECK(ref_hex(clone, "refs/heads/main") == hex(f.head));
  git_status_options so = GIT_STATUS_OPTIONS_INIT;
  so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED;
  git_status_list* st = nullptr;
  ok(git_status_list_new(&st, clone, &so), "status");
  CHECK(git_status_list_entrycount(st) == 0);
  git_status_list_free(st);
  git_commit_free(work);
  git_repository_free(clone);
}

TEST_CASE("git fetch brings the sandbox's branches back under matchlock/<sandbox>/") {
  Fixture f;
  make_dirty(f);
  auto c = workspace::prepare_git_clone(f.repo_dir, f.clone_dir, "sb");
  REQUIRE(c);

  // The agent commits on its work branch and starts a branch of its own.
  git_repository* clone = f.open_clone();
  write(f.clone_dir / "src/fix.c", "/* fixed */\n");
  git_oid work2 = commit_all(clone, "agent work");
  ok(git_repository_set_head(clone, "refs/heads/main"), "set head");
  git_checkout_options co = GIT_CHECKOUT_OPTIONS_INIT;
  co.checkout_strategy = GIT_CHECKOUT_FORCE;
  ok(git_checkout_head(clone, &co), "checkout main");
  git_commit* base = nullptr;
  ok(git_commit_lookup(&base, clone, &f.head), "base");
  git_reference* br = nullptr;
  ok(git_branch_create(&br, clone, "feature/x", base, 0), "branch");
  git_reference_free(br);
  git_commit_free(base);
  ok(git_repository_set_head(clone, "refs/heads/feature/x"), "set head");
  write(f.clone_dir / "feature.txt", "feature\n");
  git_oid feat = commit_all(clone, "feature commit");

  auto worktree_before = snapshot(f.repo_dir, true);
  std::string index_before = read(f.repo_dir / ".git/index");
  std::string head_before = read(f.repo_dir / ".git/HEAD");
  std::string main_before = ref_hex(f.repo, "refs/heads/main");

  auto r = workspace::fetch_branches(f.clone_dir, f.repo_dir, "sb");
  REQUIRE(r);
  std::map<std::string, workspace::BranchUpdate> by_ref;
  for (const auto& u : *r) by_ref[u.ref] = u;
  REQUIRE(by_ref.size() == 3);
  CHECK(by_ref["refs/heads/matchlock/sb/main"].new_oid == hex(f.head));
  CHECK(by_ref["refs/heads/matchlock/sb/matchlock/work"].new_oid == hex(work2));
  CHECK(by_ref["refs/heads/matchlock/sb/feature/x"].new_oid == hex(feat));
  CHECK(by_ref["refs/heads/matchlock/sb/feature/x"].old_oid.empty());
  CHECK(ref_hex(f.repo, "refs/heads/matchlock/sb/feature/x") == hex(feat));
  git_commit* fetched = nullptr;
  CHECK(git_commit_lookup(&fetched, f.repo, &feat) == 0);  // the objects came along
  git_commit_free(fetched);

  // HEAD, index, work tree, the user's own branches: untouched; no FETCH_HEAD.
  CHECK(snapshot(f.repo_dir, true) == worktree_before);
  CHECK(read(f.repo_dir / ".git/index") == index_before);
  CHECK(read(f.repo_dir / ".git/HEAD") == head_before);
  CHECK(ref_hex(f.repo, "refs/heads/main") == main_before);
  CHECK_FALSE(fs::exists(f.repo_dir / ".git/FETCH_HEAD"));

  // Nothing new: nothing reported. A rewritten branch is force-updated.
  auto again = workspace::fetch_branches(f.clone_dir, f.repo_dir, "sb");
  REQUIRE(again);
  CHECK(again->empty());
  git_commit* wc = nullptr;
  ok(git_commit_lookup(&wc, clone, &f.head), "head commit");
  ok(git_repository_set_head(clone, "refs/heads/main"), "leave feature/x");
  git_reference* moved = nullptr;
  ok(git_branch_create(&moved, clone, "feature/x", wc, 1), "force branch");
  git_reference_free(moved);
  git_commit_free(wc);
  auto forced = workspace::fetch_branches(f.clone_dir, f.repo_dir, "sb");
  REQUIRE(forced);
  REQUIRE(forced->size() == 1);
  CHECK(forced->front().old_oid == hex(feat));
  CHECK(forced->front().new_oid == hex(f.head));
  CHECK(ref_hex(f.repo, "refs/heads/matchlock/sb/feature/x") == hex(f.head));
  git_repository_free(clone);
}

TEST_CASE("git fetch never moves the branch the user has checked out") {
  Fixture f;
  auto c = workspace::prepare_git_clone(f.repo_dir, f.clone_dir, "sb");
  REQUIRE(c);
  REQUIRE(workspace::fetch_branches(f.clone_dir, f.repo_dir, "sb"));
  ok(git_repository_set_head(f.repo, "refs/heads/matchlock/sb/main"), "user checks out the sandbox branch");
  git_repository* clone = f.open_clone();
  write(f.clone_dir / "more.txt", "more\n");
  git_oid next = commit_all(clone, "more");
  git_repository_free(clone);
  auto r = workspace::fetch_branches(f.clone_dir, f.repo_dir, "sb");
  REQUIRE(r);
  REQUIRE(r->size() == 1);
  CHECK(r->front().skipped);
  CHECK(r->front().new_oid == hex(next));
  CHECK(ref_hex(f.repo, "refs/heads/matchlock/sb/main") == hex(f.head));
}

TEST_CASE("git mode refuses what is not a work tree top, and a clone that borrows objects") {
  Fixture f;
  auto sub = workspace::prepare_git_clone(f.repo_dir / "src", f.clone_dir, "sb");
  REQUIRE_FALSE(sub);
  CHECK(sub.error().code() == util::ErrorCode::Config);
  auto plain = workspace::prepare_git_clone(f.tmp.path(), f.clone_dir, "sb");
  REQUIRE_FALSE(plain);
  CHECK_FALSE(fs::exists(f.clone_dir));

  REQUIRE(workspace::prepare_git_clone(f.repo_dir, f.clone_dir, "sb"));
  write(f.clone_dir / ".git/objects/info/alternates", (f.repo_dir / ".git/objects").string() + "\n");
  auto r = workspace::fetch_branches(f.clone_dir, f.repo_dir, "sb");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == util::ErrorCode::Denied);
  auto bad = workspace::fetch_branches(f.clone_dir, f.repo_dir, "a/b");
  CHECK_FALSE(bad);
}
