#include "util/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <random>

namespace util {

namespace {
std::string random_suffix() {
  static thread_local std::mt19937_64 rng(std::random_device{}() ^ static_cast<unsigned>(getpid()));
  static const char* hex = "0123456789abcdef";
  std::string s;
  auto v = rng();
  for (int i = 0; i < 12; ++i, v >>= 4) s += hex[v & 15];
  return s;
}
}  // namespace

Result<AtomicFile> AtomicFile::create(const std::filesystem::path& target, int mode) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::filesystem::path temp = target;
    temp += ".tmp-" + random_suffix();
    int fd = retry_eintr([&] { return ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode); });
    if (fd >= 0) return AtomicFile(target, temp, Fd(fd));
    if (errno != EEXIST) return sys_error("create", temp);
  }
  return make_error(ErrorCode::Io, "create temp file for " + target.string() + ": too many collisions");
}

AtomicFile::~AtomicFile() {
  if (m_fd) {
    m_fd.reset();
    ::unlink(m_temp.c_str());
  }
}

Result<void> AtomicFile::write(std::string_view data) { return write_all(m_fd.get(), data); }

Result<void> AtomicFile::commit() {
  if (!m_fd) return make_error(ErrorCode::Internal, "commit " + m_target.string() + ": already committed");
  if (::fsync(m_fd.get()) < 0) return sys_error("fsync", m_temp);
  m_fd.reset();
  if (::rename(m_temp.c_str(), m_target.c_str()) < 0) {
    Error e = sys_error("rename", m_temp);
    ::unlink(m_temp.c_str());
    return e;
  }
  return fsync_dir(m_target.parent_path().empty() ? "." : m_target.parent_path());
}

Result<void> fsync_dir(const std::filesystem::path& dir) {
  Fd fd = ML_TRY(open_fd(dir, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) < 0) return sys_error("fsync", dir);
  return ok();
}

Result<void> write_file_atomic(const std::filesystem::path& target, std::string_view data, int mode) {
  AtomicFile f = ML_TRY(AtomicFile::create(target, mode));
  ML_TRY_CTX(write_all(f.fd(), data), "write " + f.temp_path().string());
  return f.commit();
}

}  // namespace util
