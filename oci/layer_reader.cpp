#include "oci/layer_reader.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include <algorithm>
#include <limits>

namespace oci {

using util::ErrorCode;
using util::Result;

namespace {

constexpr size_t k_read_block = 1 << 20;

Result<EntryType> entry_type(archive_entry* e, std::string_view path) {
  if (archive_entry_hardlink(e) != nullptr) return EntryType::Hardlink;
  switch (archive_entry_filetype(e)) {
    case AE_IFREG:
      return EntryType::Regular;
    case AE_IFDIR:
      return EntryType::Directory;
    case AE_IFLNK:
      return EntryType::Symlink;
    case AE_IFCHR:
      return EntryType::CharDevice;
    case AE_IFBLK:
      return EntryType::BlockDevice;
    case AE_IFIFO:
      return EntryType::Fifo;
    default:
      return util::make_error(ErrorCode::Integrity,
                              "entry " + std::string(path) + ": unsupported file type (socket or unknown)");
  }
}

Result<uint32_t> id_of(la_int64_t v, std::string_view what, std::string_view path) {
  if (v < 0 || v > static_cast<la_int64_t>(std::numeric_limits<uint32_t>::max()))
    return util::make_error(ErrorCode::Integrity,
                            "entry " + std::string(path) + ": " + std::string(what) + " out of range");
  return static_cast<uint32_t>(v);
}

}  // namespace

LayerReader::LayerReader(util::Fd fd, std::string label, LayerLimits limits, archive* a)
    : m_fd(std::move(fd)), m_label(std::move(label)), m_limits(limits), m_archive(a) {}

LayerReader::~LayerReader() {
  if (m_archive) archive_read_free(m_archive);
}

LayerReader::LayerReader(LayerReader&& other) noexcept
    : m_fd(std::move(other.m_fd)),
      m_label(std::move(other.m_label)),
      m_limits(other.m_limits),
      m_archive(std::exchange(other.m_archive, nullptr)) {}

LayerReader& LayerReader::operator=(LayerReader&& other) noexcept {
  if (this != &other) {
    if (m_archive) archive_read_free(m_archive);
    m_fd = std::move(other.m_fd);
    m_label = std::move(other.m_label);
    m_limits = other.m_limits;
    m_archive = std::exchange(other.m_archive, nullptr);
  }
  return *this;
}

Result<LayerReader> LayerReader::open(const std::filesystem::path& blob, std::string label, LayerLimits limits) {
  util::Fd fd = ML_TRY(util::open_fd(blob, O_RDONLY));
  archive* a = archive_read_new();
  if (!a) return util::make_error(ErrorCode::Internal, "archive_read_new failed");
  LayerReader reader(std::move(fd), std::move(label), limits, a);
  enable_formats(a);
  if (archive_read_open_fd(a, reader.m_fd.get(), k_read_block) != ARCHIVE_OK)
    return reader.archive_failure("open " + blob.string());
  return reader;
}

Result<LayerReader> LayerReader::open_memory(std::string_view blob, std::string label, LayerLimits limits) {
  archive* a = archive_read_new();
  if (!a) return util::make_error(ErrorCode::Internal, "archive_read_new failed");
  LayerReader reader(util::Fd(), std::move(label), limits, a);
  enable_formats(a);
  if (archive_read_open_memory(a, blob.data(), blob.size()) != ARCHIVE_OK) return reader.archive_failure("open");
  return reader;
}

void LayerReader::enable_formats(archive* a) {
  // OCI layers are tar, tar+gzip or tar+zstd. Only in-process decoders are
  // enabled: libarchive's "all" would also run external programs (lrzip, lzop).
  archive_read_support_filter_gzip(a);
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_empty(a);
}

util::Error LayerReader::archive_failure(std::string_view what) const {
  const char* msg = archive_error_string(m_archive);
  return util::make_error(ErrorCode::Integrity, std::string(what) + ": " + (msg ? msg : "unknown libarchive error"));
}

Result<void> LayerReader::check_bomb() const {
  la_int64_t out = archive_filter_bytes(m_archive, 0);
  if (out <= 0) return util::ok();
  auto n = static_cast<uint64_t>(out);
  if (m_limits.max_bytes != 0 && n > m_limits.max_bytes)
    return util::make_error(ErrorCode::Integrity, "decompresses to more than " + std::to_string(m_limits.max_bytes) +
                                                      " bytes (max_layer_bytes); refusing a possible bomb");
  la_int64_t in = archive_filter_bytes(m_archive, -1);
  if (m_limits.max_expansion_ratio != 0 && n > k_ratio_floor && in > 0 &&
      n / static_cast<uint64_t>(in) > m_limits.max_expansion_ratio)
    return util::make_error(ErrorCode::Integrity,
                            std::to_string(in) + " compressed bytes expand to " + std::to_string(n) + " (more than " +
                                std::to_string(m_limits.max_expansion_ratio) +
                                "x, max_expansion_ratio); refusing a possible decompression bomb");
  return util::ok();
}

Result<bool> LayerReader::next(TarEntry& entry) {
  archive_entry* e = nullptr;
  int r = archive_read_next_header(m_archive, &e);
  if (r == ARCHIVE_EOF) return false;
  if (r < ARCHIVE_WARN) return archive_failure("read header");
  ML_TRY(check_bomb());

  const char* path = archive_entry_pathname(e);
  if (!path) path = archive_entry_pathname_utf8(e);
  if (!path) return archive_failure("entry without a usable path name");
  entry = TarEntry{};
  entry.path = path;
  entry.type = ML_TRY(entry_type(e, entry.path));
  entry.mode = static_cast<uint32_t>(archive_entry_perm(e)) & 07777;
  entry.uid = ML_TRY(id_of(archive_entry_uid(e), "uid", entry.path));
  entry.gid = ML_TRY(id_of(archive_entry_gid(e), "gid", entry.path));
  if (archive_entry_mtime_is_set(e)) {
    entry.mtime = archive_entry_mtime(e);
    long nsec = archive_entry_mtime_nsec(e);
    entry.mtime_nsec = nsec >= 0 && nsec < 1'000'000'000 ? static_cast<uint32_t>(nsec) : 0;
  }
  if (entry.type == EntryType::Regular) {
    la_int64_t size = archive_entry_size(e);
    if (size < 0) return archive_failure("entry " + entry.path + ": negative size");
    entry.size = static_cast<uint64_t>(size);
    if (m_limits.max_bytes != 0 && entry.size > m_limits.max_bytes)
      return util::make_error(ErrorCode::Integrity, "entry " + entry.path + " declares " + std::to_string(entry.size) +
                                                        " bytes, more than max_layer_bytes");
  }
  if (entry.type == EntryType::Hardlink) {
    const char* t = archive_entry_hardlink(e);
    entry.link_target = t ? t : "";
  } else if (entry.type == EntryType::Symlink) {
    const char* t = archive_entry_symlink(e);
    if (!t) t = archive_entry_symlink_utf8(e);
    if (!t) return archive_failure("entry " + entry.path + ": symlink without a target");
    entry.link_target = t;
  }
  if (entry.type == EntryType::CharDevice || entry.type == EntryType::BlockDevice) {
    entry.rdev_major = static_cast<uint32_t>(archive_entry_rdevmajor(e));
    entry.rdev_minor = static_cast<uint32_t>(archive_entry_rdevminor(e));
  }
  archive_entry_xattr_reset(e);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t value_size = 0;
  while (archive_entry_xattr_next(e, &name, &value, &value_size) == ARCHIVE_OK) {
    if (!name) continue;
    entry.xattrs.emplace_back(name, std::string(static_cast<const char*>(value), value_size));
  }
  std::stable_sort(entry.xattrs.begin(), entry.xattrs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  return true;
}

Result<void> LayerReader::read_data(const DataSink& sink) {
  for (;;) {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int r = archive_read_data_block(m_archive, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) return util::ok();
    if (r < ARCHIVE_WARN) return archive_failure("read data");
    ML_TRY(check_bomb());
    if (offset < 0) return archive_failure("negative data offset");
    if (size == 0) continue;
    ML_TRY(sink(static_cast<uint64_t>(offset), std::string_view(static_cast<const char*>(buf), size)));
  }
}

Result<void> LayerReader::skip_data() {
  if (archive_read_data_skip(m_archive) < ARCHIVE_WARN) return archive_failure("skip data");
  return check_bomb();
}

}  // namespace oci
