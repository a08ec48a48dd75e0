// FileServer: the exclude barrier (docs/workspace.md, "exclude"). A share
// path is hidden when it or any of its ancestors matches a pattern; hidden
// paths cannot be looked up, listed, opened, created, removed, renamed or
// linked, and no rename may carry content across the barrier: a directory is
// renamed (or exchanged) only when nothing beneath it on the host is hidden
// at its old path or would be at its new one. Matches are decided on the
// node's path as the node table has it now (re-derived after every rename),
// and the host tree is read at request time.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "util/dir.hpp"
#include "util/glob.hpp"
#include "util/beneath.hpp"
#include "workspace/file_server.hpp"

namespace workspace {

namespace {

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (name.empty()) return dir;
  return dir + "/" + name;
}

}  // namespace

bool FileServer::excluded(const std::string& rel) const {
  for (const auto& g : m_options.exclude)
    if (util::glob_match(g, rel)) return true;
  return false;
}

bool FileServer::hidden(const std::string& rel) const {
  if (m_options.exclude.empty() || rel.empty()) return false;  // the root is never hidden
  for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1))
    if (excluded(rel.substr(0, slash))) return true;
  return excluded(rel);
}

bool FileServer::may_hide_beneath(const std::string& rel) const {
  for (const auto& g : m_options.exclude)
    if (util::glob_may_match_beneath(g, rel)) return true;
  return false;
}

int FileServer::check_subtree(const std::string& from, const std::string& to) {
  if (m_options.exclude.empty()) return 0;
  // Directories still to read, as paths below FROM; one is open at a time.
  std::vector<std::string> todo{std::string()};
  while (!todo.empty()) {
    std::string sub = std::move(todo.back());
    todo.pop_back();
    std::string from_dir = join(from, sub), to_dir = join(to, sub);
    if (!may_hide_beneath(from_dir) && !may_hide_beneath(to_dir)) continue;  // no pattern reaches below
    auto fd = util::open_beneath(m_root.get(), from_dir, O_RDONLY | O_DIRECTORY);
    if (!fd) return EACCES;  // cannot look inside: do not move it blind
    util::Dir d = util::Dir::adopt(fd->release());
    if (!d) return EACCES;
    int refused = 0;
    errno = 0;
    while (dirent* e = d.next()) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      std::string rel = join(sub, name);
      if (excluded(join(from, rel)) || excluded(join(to, rel))) {
        refused = EACCES;
        break;
      }
      bool dir = e->d_type == DT_DIR;
      if (e->d_type == DT_UNKNOWN) {
        struct stat st;
        dir = ::fstatat(d.fd(), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
      }
      if (dir) todo.push_back(std::move(rel));
      errno = 0;
    }
    if (!refused && errno) refused = EACCES;  // a listing cut short hides what it did not show
    if (refused) return refused;
  }
  return 0;
}

}  // namespace workspace
