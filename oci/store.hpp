// Content store under $XDG_CACHE_HOME/matchlock:
//   blobs/sha256/<hex>            verified blobs (published by rename)
//   blobs/sha256/<hex>.partial    an interrupted download, resumed later
//   locks/<hex>.lock              flock: one downloader per blob
//   images/<key>.json             image records (reference -> manifest, source)
//   rootfs/<manifest-hex>.ext4    built by oci/rootfs (not here)
//   store.lock                    pulls hold it shared, gc exclusive
// A blob is only ever visible under its final name after its sha256 and size
// were verified and the data fsynced, so kill -9 at any moment leaves either
// no entry or a complete one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "oci/digest.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"
#include "util/sha256.hpp"
#include "util/xdg.hpp"

namespace oci {

enum class LockMode { Shared, Exclusive };
enum class Wait { Yes, No };

// flock() held for the lifetime of the object.
class FileLock {
 public:
  // Wait::No returns NotFound-free Io error "busy" when the lock is held.
  static util::Result<FileLock> acquire(const std::filesystem::path& path, LockMode mode, Wait wait = Wait::Yes);
  FileLock() = default;
  bool held() const { return m_fd.valid(); }

 private:
  explicit FileLock(util::Fd fd) : m_fd(std::move(fd)) {}
  util::Fd m_fd;
};

// Streams one blob into the store, hashing as it goes. Resumes an existing
// .partial file (its bytes are re-hashed first). commit() publishes only if
// size and sha256 match; otherwise the partial is removed and the error names
// the digest. Destroying an uncommitted writer keeps the .partial for resume.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&&) noexcept = default;
  BlobWriter& operator=(BlobWriter&&) noexcept = default;
  ~BlobWriter() = default;

  uint64_t offset() const { return m_written; }
  uint64_t expected_size() const { return m_size; }
  util::Result<void> write(std::string_view data);
  // Discards what was written (server ignored our Range request).
  util::Result<void> restart();
  util::Result<std::filesystem::path> commit();
  // Deletes the .partial (the data can never become this blob).
  void discard();

 private:
  friend class Store;
  BlobWriter(Digest digest, uint64_t size, std::filesystem::path partial, std::filesystem::path final_path, util::Fd fd)
      : m_digest(std::move(digest)),
        m_size(size),
        m_partial(std::move(partial)),
        m_final(std::move(final_path)),
        m_fd(std::move(fd)) {}
  Digest m_digest;
  uint64_t m_size = 0;
  std::filesystem::path m_partial, m_final;
  util::Fd m_fd;
  util::Sha256 m_hash;
  uint64_t m_written = 0;
};

class Store {
 public:
  static util::Result<Store> open(const util::Dirs& dirs);

  const std::filesystem::path& root() const { return m_root; }
  std::filesystem::path blobs_dir() const { return m_root / "blobs" / "sha256"; }
  std::filesystem::path images_dir() const { return m_root / "images"; }
  std::filesystem::path rootfs_dir() const { return m_root / "rootfs"; }
  std::filesystem::path blob_path(const Digest& d) const { return blobs_dir() / d.hex; }

  // True when the blob is present with this size (its digest was verified at publish).
  bool has_blob(const Digest& d, uint64_t size) const;
  // Held while downloading `d`: a second pull waits, then finds the blob.
  util::Result<FileLock> lock_blob(const Digest& d) const;
  // Pulls hold this shared; gc holds it exclusive.
  util::Result<FileLock> lock_store(LockMode mode, Wait wait = Wait::Yes) const;
  util::Result<BlobWriter> begin_blob(const Digest& d, uint64_t size) const;
  // Verifies and publishes small in-memory blobs (manifests, configs).
  util::Result<std::filesystem::path> put_blob(const Digest& d, std::string_view data) const;
  util::Result<std::string> read_blob(const Digest& d) const;

 private:
  explicit Store(std::filesystem::path root) : m_root(std::move(root)) {}
  std::filesystem::path m_root;
};

// Refuses anything but sha256 with a clear message.
util::Result<Digest> parse_sha256_digest(std::string_view text);

}  // namespace oci
