#include "util/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include "util/fd.hpp"

namespace util {

Result<std::string> read_file(const std::filesystem::path& path) {
  Fd fd = ML_TRY(open_fd(path, O_RDONLY));
  return ML_TRY_CTX(read_all(fd.get()), path.string());
}

Result<void> make_dirs(const std::filesystem::path& path, int mode) {
  if (path.empty()) return ok();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return ok();
    return make_error(ErrorCode::Io, "mkdir " + path.string() + ": exists and is not a directory");
  }
  if (path.has_parent_path() && path.parent_path() != path) ML_TRY(make_dirs(path.parent_path(), mode));
  if (::mkdir(path.c_str(), static_cast<mode_t>(mode)) < 0 && errno != EEXIST) return sys_error("mkdir", path);
  return ok();
}

bool path_exists(const std::filesystem::path& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace util
