// open_beneath's common part: the input checks and the component walk both implementations use.
#include "util/beneath.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace util {

bool valid_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.size() <= NAME_MAX &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

namespace detail {

int check_beneath_path(std::string_view rel) {
  if (rel.empty() || rel == ".") return 0;
  if (rel.size() >= PATH_MAX) return ENAMETOOLONG;
  if (rel.front() == '/' || rel.back() == '/') return EINVAL;
  for (size_t start = 0;;) {
    size_t slash = rel.find('/', start);
    std::string_view comp = rel.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (comp.size() > NAME_MAX) return ENAMETOOLONG;
    if (!valid_name(comp)) return EINVAL;
    if (slash == std::string_view::npos) return 0;
    start = slash + 1;
  }
}

int walk_beneath(int dirfd, std::string_view rel, int flags, unsigned mode, int dir_flags) {
  if (rel.empty() || rel == ".") {
    int fd = ::openat(dirfd, ".", flags | O_CLOEXEC, mode);
    return fd >= 0 ? fd : -errno;
  }
  Fd cur;
  int at = dirfd;
  for (;;) {
    size_t slash = rel.find('/');
    std::string comp(rel.substr(0, slash));
    if (!valid_name(comp)) return -EINVAL;
    if (slash == std::string_view::npos) {
      int fd = ::openat(at, comp.c_str(), flags | O_CLOEXEC | O_NOFOLLOW, mode);
      return fd >= 0 ? fd : -errno;
    }
    // Every step opens on the previous step's fd without following: a component swapped for
    // a symlink between two steps fails here instead of being followed.
    int next = ::openat(at, comp.c_str(), dir_flags | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (next < 0) {
      int err = errno;
      if (err == ENOTDIR) {  // Linux's O_PATH|O_NOFOLLOW|O_DIRECTORY says ENOTDIR for a symlink
        struct stat st;
        if (::fstatat(at, comp.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) err = ELOOP;
      }
      return -err;
    }
    cur.reset(next);
    at = cur.get();
    rel.remove_prefix(slash + 1);
  }
}

}  // namespace detail

Result<Fd> open_beneath(int dirfd, std::string_view rel, int flags, unsigned mode, Resolver how) {
  int r = detail::check_beneath_path(rel);
  if (r == 0)
    r = detail::open_beneath_checked(dirfd, rel, flags, mode, how);
  else
    r = -r;
  if (r >= 0) return Fd(r);
  return sys_error_code(-r, "open beneath the share", std::string(rel));
}

Result<Fd> open_dir_beneath(int dirfd, std::string_view rel) { return open_beneath(dirfd, rel, dir_ref_flags()); }

Result<Fd> open_dir_ref(const std::string& path) {
  Fd fd(::open(path.c_str(), dir_ref_flags() | O_CLOEXEC));
  if (!fd) return sys_error("open", path);
  return fd;
}

}  // namespace util
