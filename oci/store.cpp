#include "oci/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/atomic_file.hpp"
#include "util/fs.hpp"

namespace oci {

using util::ErrorCode;
using util::make_error;

util::Result<Digest> parse_sha256_digest(std::string_view text) {
  Digest d = ML_TRY(parse_digest(text));
  if (d.algorithm != "sha256")
    return make_error(ErrorCode::Unsupported, "digest " + std::string(text) + ": only sha256 content is supported");
  return d;
}

util::Result<FileLock> FileLock::acquire(const std::filesystem::path& path, LockMode mode, Wait wait) {
  util::Fd fd = ML_TRY(util::open_fd(path, O_RDWR | O_CREAT, 0644));
  int op = (mode == LockMode::Shared ? LOCK_SH : LOCK_EX) | (wait == Wait::No ? LOCK_NB : 0);
  if (util::retry_eintr([&] { return ::flock(fd.get(), op); }) < 0) {
    if (errno == EWOULDBLOCK) return make_error(ErrorCode::Io, "lock " + path.string() + ": busy");
    return util::sys_error("flock", path);
  }
  return FileLock(std::move(fd));
}

util::Result<void> BlobWriter::write(std::string_view data) {
  if (m_written + data.size() > m_size) {
    discard();  // oversize data is never resumable
    return make_error(ErrorCode::Integrity,
                      "blob " + m_digest.to_string() + ": more data than the declared size " + std::to_string(m_size));
  }
  ML_TRY_CTX(util::write_all(m_fd.get(), data), "write " + m_partial.string());
  m_hash.update(data);
  m_written += data.size();
  return util::ok();
}

util::Result<void> BlobWriter::restart() {
  if (::ftruncate(m_fd.get(), 0) < 0) return util::sys_error("truncate", m_partial);
  if (::lseek(m_fd.get(), 0, SEEK_SET) < 0) return util::sys_error("seek", m_partial);
  m_hash = util::Sha256();
  m_written = 0;
  return util::ok();
}

void BlobWriter::discard() {
  m_fd.reset();
  ::unlink(m_partial.c_str());
}

util::Result<std::filesystem::path> BlobWriter::commit() {
  auto discard = [&](std::string why) {
    this->discard();
    return make_error(ErrorCode::Integrity, "blob " + m_digest.to_string() + ": " + why);
  };
  if (m_written != m_size)
    return discard("size mismatch: got " + std::to_string(m_written) + " bytes, expected " + std::to_string(m_size));
  std::string got = m_hash.hex_digest();
  if (got != m_digest.hex) return discard("digest mismatch: content hashes to sha256:" + got);
  if (::fsync(m_fd.get()) < 0) return util::sys_error("fsync", m_partial);
  m_fd.reset();
  if (::rename(m_partial.c_str(), m_final.c_str()) < 0) return util::sys_error("rename", m_partial);
  ML_TRY(util::fsync_dir(m_final.parent_path()));
  return m_final;
}

util::Result<Store> Store::open(const util::Dirs& dirs) {
  Store s(dirs.cache);
  for (const auto& d : {s.blobs_dir(), s.images_dir(), s.rootfs_dir(), s.m_root / "locks"})
    ML_TRY_CTX(util::make_dirs(d, 0755), "content store");
  return s;
}

bool Store::has_blob(const Digest& d, uint64_t size) const {
  struct stat st;
  return ::stat(blob_path(d).c_str(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) == size;
}

util::Result<FileLock> Store::lock_blob(const Digest& d) const {
  return FileLock::acquire(m_root / "locks" / (d.hex + ".lock"), LockMode::Exclusive);
}

util::Result<FileLock> Store::lock_store(LockMode mode, Wait wait) const {
  return FileLock::acquire(m_root / "store.lock", mode, wait);
}

util::Result<BlobWriter> Store::begin_blob(const Digest& d, uint64_t size) const {
  if (d.algorithm != "sha256")
    return make_error(ErrorCode::Unsupported, "blob " + d.to_string() + ": only sha256 content is supported");
  std::filesystem::path partial = blob_path(d);
  partial += ".partial";
  util::Fd fd = ML_TRY(util::open_fd(partial, O_RDWR | O_CREAT, 0644));
  BlobWriter w(d, size, partial, blob_path(d), std::move(fd));
  // Re-hash what an earlier, interrupted download left behind.
  char buf[1 << 16];
  uint64_t have = 0;
  while (true) {
    size_t n = ML_TRY_CTX(util::read_some(w.m_fd.get(), buf), "read " + partial.string());
    if (n == 0) break;
    w.m_hash.update(buf, n);
    have += n;
  }
  w.m_written = have;
  if (have > size) ML_TRY(w.restart());
  return w;
}

util::Result<std::filesystem::path> Store::put_blob(const Digest& d, std::string_view data) const {
  if (d.algorithm != "sha256")
    return make_error(ErrorCode::Unsupported, "blob " + d.to_string() + ": only sha256 content is supported");
  std::string got = util::sha256_hex(data);
  if (got != d.hex)
    return make_error(ErrorCode::Integrity,
                      "blob " + d.to_string() + ": digest mismatch: content hashes to sha256:" + got);
  if (has_blob(d, data.size())) return blob_path(d);
  ML_TRY(util::write_file_atomic(blob_path(d), data));
  return blob_path(d);
}

util::Result<std::string> Store::read_blob(const Digest& d) const {
  auto data = util::read_file(blob_path(d));
  if (!data) return make_error(ErrorCode::NotFound, "blob " + d.to_string() + " is not in the store");
  return data;
}

}  // namespace oci
