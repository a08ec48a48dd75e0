// Helpers for the git mode tests: real repositories built with libgit2 in temp dirs.
#pragma once

#include <git2.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>

namespace gitt {

namespace fs = std::filesystem;

inline void ok(int rc, const char* what) {
  if (rc < 0) {
    const git_error* e = git_error_last();
    throw std::runtime_error(std::string(what) + ": " + (e ? e->message : "?"));
  }
}

inline void write(const fs::path& p, const std::string& data, int mode = 0644) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
  fs::permissions(p, static_cast<fs::perms>(mode));
}

inline std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A repo with HEAD -> refs/heads/main.
inline git_repository* init(const fs::path& dir) {
  git_repository* repo = nullptr;
  git_repository_init_options o = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  o.flags = GIT_REPOSITORY_INIT_MKPATH;
  o.initial_head = "main";
  ok(git_repository_init_ext(&repo, dir.c_str(), &o), "init");
  git_config* cfg = nullptr;
  ok(git_repository_config(&cfg, repo), "config");
  ok(git_config_set_string(cfg, "user.name", "Test User"), "user.name");
  ok(git_config_set_string(cfg, "user.email", "test@example.org"), "user.email");
  git_config_free(cfg);
  return repo;
}

// `git add -A && git commit -m MSG` on HEAD's branch; returns the commit id.
inline git_oid commit_all(git_repository* repo, const char* msg) {
  git_index* idx = nullptr;
  ok(git_repository_index(&idx, repo), "index");
  ok(git_index_add_all(idx, nullptr, GIT_INDEX_ADD_DEFAULT, nullptr, nullptr), "add_all");
  ok(git_index_update_all(idx, nullptr, nullptr, nullptr), "update_all");
  ok(git_index_write(idx), "index write");
  git_oid tree_id, commit_id;
  ok(git_index_write_tree(&tree_id, idx), "write tree");
  git_index_free(idx);
  git_tree* tree = nullptr;
  ok(git_tree_lookup(&tree, repo, &tree_id), "tree");
  git_signature* sig = nullptr;
  ok(git_signature_now(&sig, "Test User", "test@example.org"), "sig");
  git_commit* parent = nullptr;
  git_oid head;
  int n = 0;
  if (git_reference_name_to_id(&head, repo, "HEAD") == 0) {
    ok(git_commit_lookup(&parent, repo, &head), "parent");
    n = 1;
  }
  const git_commit* parents[1] = {parent};
  ok(git_commit_create(&commit_id, repo, "HEAD", sig, sig, nullptr, msg, tree, n, parents), "commit");
  git_commit_free(parent);
  git_signature_free(sig);
  git_tree_free(tree);
  return commit_id;
}

inline std::string hex(const git_oid& oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return buf;
}

inline std::string ref_hex(git_repository* repo, const std::string& ref) {
  git_oid oid;
  if (git_reference_name_to_id(&oid, repo, ref.c_str()) != 0) return "";
  return hex(oid);
}

// Every file under DIR (content, mode, link target) keyed by relative path;
// with .git only where SKIP_GIT is false. Used to prove a tree is untouched.
inline std::map<std::string, std::string> snapshot(const fs::path& dir, bool skip_git) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    auto rel = fs::relative(it->path(), dir).string();
    if (skip_git && rel.rfind(".git", 0) == 0) {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    struct stat st {};
    ::lstat(it->path().c_str(), &st);
    std::string v = std::to_string(st.st_mode) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
                    std::to_string(st.st_mtim.tv_nsec) + ":";
    if (it->is_symlink())
      v += "->" + fs::read_symlink(it->path()).string();
    else if (it->is_regular_file())
      v += read(it->path());
    out[rel] = v;
  }
  return out;
}

}  // namespace gitt
