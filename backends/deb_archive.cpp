#include "backends/deb_archive.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

namespace backends {

namespace {

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

util::Error archive_error(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return util::make_error(util::ErrorCode::Integrity, what + ": " + (msg ? msg : "libarchive error"));
}

struct OuterReader {
  archive* outer;
  char buf[64 * 1024];
};

la_ssize_t read_from_outer(archive*, void* data, const void** out) {
  auto* r = static_cast<OuterReader*>(data);
  *out = r->buf;
  return archive_read_data(r->outer, r->buf, sizeof r->buf);
}

}  // namespace

util::Result<void> for_each_deb_entry(const std::filesystem::path& deb, DebMember member, const DebVisitor& visit) {
  const std::string what = "read " + deb.string();
  ArchivePtr outer(archive_read_new());
  archive_read_support_format_ar(outer.get());
  if (archive_read_open_filename(outer.get(), deb.c_str(), 64 * 1024) != ARCHIVE_OK)
    return archive_error(outer.get(), what);
  const std::string prefix = member == DebMember::Control ? "control.tar" : "data.tar";
  archive_entry* entry = nullptr;
  for (;;) {
    int r = archive_read_next_header(outer.get(), &entry);
    if (r == ARCHIVE_EOF) return util::make_error(util::ErrorCode::Integrity, what + ": no " + prefix + " member");
    if (r != ARCHIVE_OK) return archive_error(outer.get(), what);
    if (std::string(archive_entry_pathname(entry)).rfind(prefix, 0) == 0) break;
  }
  OuterReader reader{outer.get(), {}};
  ArchivePtr inner(archive_read_new());
  archive_read_support_filter_all(inner.get());
  archive_read_support_format_tar(inner.get());
  if (archive_read_open(inner.get(), &reader, nullptr, read_from_outer, nullptr) != ARCHIVE_OK)
    return archive_error(inner.get(), what + ": " + prefix);
  for (;;) {
    int r = archive_read_next_header(inner.get(), &entry);
    if (r == ARCHIVE_EOF) return util::ok();
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return archive_error(inner.get(), what + ": " + prefix);
    DebEntry e;
    e.path = archive_entry_pathname(entry);
    if (e.path.rfind("./", 0) == 0) e.path.erase(0, 2);
    e.size = archive_entry_size(entry);
    e.regular = archive_entry_filetype(entry) == AE_IFREG;
    archive* in = inner.get();
    DebContents contents = [in, &e, &what]() -> util::Result<std::string> {
      std::string data;
      data.resize(static_cast<size_t>(e.size));
      size_t got = 0;
      while (got < data.size()) {
        la_ssize_t n = archive_read_data(in, data.data() + got, data.size() - got);
        if (n < 0) return archive_error(in, what + ": " + e.path);
        if (n == 0) break;
        got += static_cast<size_t>(n);
      }
      if (got != data.size()) return util::make_error(util::ErrorCode::Integrity, what + ": " + e.path + ": truncated");
      return data;
    };
    ML_TRY(visit(e, contents));
  }
}

util::Result<std::string> deb_control_field(const std::filesystem::path& deb, const std::string& field) {
  std::string control;
  auto visit = [&](const DebEntry& e, const DebContents& contents) -> util::Result<void> {
    if (e.path == "control") control = ML_TRY(contents());
    return util::ok();
  };
  ML_TRY(for_each_deb_entry(deb, DebMember::Control, visit));
  const std::string key = field + ":";
  size_t pos = 0;
  while (pos < control.size()) {
    size_t end = control.find('\n', pos);
    if (end == std::string::npos) end = control.size();
    std::string line = control.substr(pos, end - pos);
    if (line.rfind(key, 0) == 0) {
      std::string value = line.substr(key.size());
      value.erase(0, value.find_first_not_of(' '));
      return value;
    }
    pos = end + 1;
  }
  return std::string{};
}

}  // namespace backends
