#include "rootfs_test_support.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <cstdio>
#include <stdexcept>

#include "util/process.hpp"

namespace rootfs_test {

Entry file(std::string path, std::string data, unsigned mode) {
  Entry e;
  e.path = std::move(path);
  e.data = std::move(data);
  e.mode = mode;
  return e;
}

Entry dir(std::string path, unsigned mode) {
  Entry e;
  e.path = std::move(path);
  e.type = '5';
  e.mode = mode;
  return e;
}

Entry slink(std::string path, std::string target) {
  Entry e;
  e.path = std::move(path);
  e.type = '2';
  e.mode = 0777;
  e.link = std::move(target);
  return e;
}

Entry hlink(std::string path, std::string target) {
  Entry e;
  e.path = std::move(path);
  e.type = '1';
  e.link = std::move(target);
  return e;
}

void write_layer(const std::filesystem::path& out, const std::vector<Entry>& entries, Compression compression) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (compression == Compression::Gzip) archive_write_add_filter_gzip(a);
  if (compression == Compression::Zstd) archive_write_add_filter_zstd(a);
  if (archive_write_open_filename(a, out.c_str()) != ARCHIVE_OK)
    throw std::runtime_error(std::string("open ") + archive_error_string(a));
  for (const Entry& e : entries) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.path.c_str());
    archive_entry_set_perm(ae, e.mode);
    archive_entry_set_uid(ae, e.uid);
    archive_entry_set_gid(ae, e.gid);
    archive_entry_set_mtime(ae, e.mtime, 0);
    switch (e.type) {
      case '0':
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_size(ae, static_cast<la_int64_t>(e.data.size()));
        break;
      case '5':
        archive_entry_set_filetype(ae, AE_IFDIR);
        break;
      case '2':
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_set_symlink(ae, e.link.c_str());
        break;
      case '1':
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_hardlink(ae, e.link.c_str());
        break;
      case '3':
        archive_entry_set_filetype(ae, AE_IFCHR);
        archive_entry_set_rdevmajor(ae, e.major);
        archive_entry_set_rdevminor(ae, e.minor);
        break;
      case '4':
        archive_entry_set_filetype(ae, AE_IFBLK);
        archive_entry_set_rdevmajor(ae, e.major);
        archive_entry_set_rdevminor(ae, e.minor);
        break;
      case '6':
        archive_entry_set_filetype(ae, AE_IFIFO);
        break;
      default:
        throw std::runtime_error("bad entry type");
    }
    for (const auto& [k, v] : e.xattrs) archive_entry_xattr_add_entry(ae, k.c_str(), v.data(), v.size());
    if (archive_write_header(a, ae) != ARCHIVE_OK)
      throw std::runtime_error(std::string("header ") + archive_error_string(a));
    if (e.type == '0' && !e.data.empty() && archive_write_data(a, e.data.data(), e.data.size()) < 0)
      throw std::runtime_error(std::string("data ") + archive_error_string(a));
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
}

std::string raw_ustar(const std::string& name, char type, uint64_t declared_size, const std::string& data) {
  std::string h(512, '\0');
  h.replace(0, std::min<size_t>(name.size(), 100), name.substr(0, 100));
  std::snprintf(&h[100], 8, "%07o", 0644);
  std::snprintf(&h[108], 8, "%07o", 0);
  std::snprintf(&h[116], 8, "%07o", 0);
  std::snprintf(&h[124], 12, "%011llo", static_cast<unsigned long long>(declared_size & 077777777777ULL));
  if (declared_size > 077777777777ULL) {  // base-256 size
    h[124] = static_cast<char>(0x80);
    for (int i = 0; i < 8; ++i) h[135 - i] = static_cast<char>((declared_size >> (8 * i)) & 0xff);
    for (int i = 1; i < 4; ++i) h[124 + i] = 0;
  }
  std::snprintf(&h[136], 12, "%011o", 1700000000);
  h[156] = type;
  h.replace(257, 6, std::string("ustar\0", 6));
  h.replace(263, 2, "00");
  std::fill(h.begin() + 148, h.begin() + 156, ' ');
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  h[155] = ' ';
  std::string padded = data;
  padded.resize((data.size() + 511) / 512 * 512, '\0');
  return h + padded;
}

std::string tar_end() { return std::string(1024, '\0'); }

Run run(const std::vector<std::string>& argv) {
  auto r = util::run_command(argv);
  if (!r) throw std::runtime_error("run " + argv[0] + ": " + r.error().message());
  return Run{r->status.shell_code(), r->out + r->err};
}

std::string debugfs(const std::filesystem::path& image, const std::string& cmd) {
  return run({"debugfs", "-R", cmd, image.string()}).out;
}

std::string cat(const std::filesystem::path& image, const std::string& path) {
  auto r = util::run_command({"debugfs", "-R", "cat " + path, image.string()});
  if (!r) throw std::runtime_error("debugfs: " + r.error().message());
  return r->out;
}

int fsck(const std::filesystem::path& image, std::string* out) {
  Run r = run({"e2fsck", "-fn", image.string()});
  if (out) *out = r.out;
  return r.code;
}

}  // namespace rootfs_test
