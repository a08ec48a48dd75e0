// Test support for rootfs tests: write tar layers with libarchive (or raw
// ustar headers for malformed input) and inspect ext4 images with debugfs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace rootfs_test {

enum class Compression { None, Gzip, Zstd };

struct Entry {
  std::string path;
  char type = '0';  // '0' file, '5' dir, '2' symlink, '1' hardlink, '3' char, '4' block, '6' fifo
  std::string data;
  unsigned mode = 0644;
  unsigned uid = 0;
  unsigned gid = 0;
  int64_t mtime = 1700000000;
  std::string link;  // symlink / hardlink target
  unsigned major = 0;
  unsigned minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

Entry file(std::string path, std::string data, unsigned mode = 0644);
Entry dir(std::string path, unsigned mode = 0755);
Entry slink(std::string path, std::string target);
Entry hlink(std::string path, std::string target);

// Writes a pax tar with the given compression.
void write_layer(const std::filesystem::path& out, const std::vector<Entry>& entries,
                 Compression compression = Compression::None);
// A raw ustar header + DATA (not padded to SIZE, so it may be truncated).
std::string raw_ustar(const std::string& name, char type, uint64_t declared_size, const std::string& data);
// Two zero blocks.
std::string tar_end();

struct Run {
  int code = 0;
  std::string out;
};
Run run(const std::vector<std::string>& argv);
// debugfs -R CMD IMAGE (stdout + stderr).
std::string debugfs(const std::filesystem::path& image, const std::string& cmd);
// File content via debugfs "cat".
std::string cat(const std::filesystem::path& image, const std::string& path);
// e2fsck -fn exit code (0 = clean); output in *out.
int fsck(const std::filesystem::path& image, std::string* out = nullptr);

}  // namespace rootfs_test
