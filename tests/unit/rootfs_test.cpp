// Rootfs builder: OCI layers -> deterministic ext4 (oci/rootfs.hpp). Images
// are checked with the real e2fsprogs tools (e2fsck -fn, debugfs).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "oci/rootfs.hpp"
#include "rootfs_test_support.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"
#include "util/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace rootfs_test;

namespace {

const std::string k_digest = "sha256:" + std::string(64, 'a');

struct Fixture {
  util::TempDir tmp = util::TempDir::create(fs::temp_directory_path(), "rootfs-test-").value();
  int n = 0;

  oci::RootfsLayer layer(const std::vector<Entry>& entries, Compression c = Compression::None) {
    fs::path p = tmp.path() / ("layer" + std::to_string(++n) + ".tar");
    write_layer(p, entries, c);
    return {p, "application/vnd.oci.image.layer.v1.tar", "sha256:layer" + std::to_string(n)};
  }
  oci::RootfsLayer raw(const std::string& bytes) {
    fs::path p = tmp.path() / ("raw" + std::to_string(++n) + ".tar");
    std::ofstream(p, std::ios::binary) << bytes;
    return {p, "application/vnd.oci.image.layer.v1.tar", "sha256:raw" + std::to_string(n)};
  }
  util::Result<oci::Rootfs> build(const std::vector<oci::RootfsLayer>& layers, oci::RootfsOptions options = small(),
                                  const std::string& digest = k_digest, const std::string& name = "image.ext4") {
    return oci::build_rootfs(layers, digest, tmp.path() / name, options);
  }
  static oci::RootfsOptions small() {
    oci::RootfsOptions o;
    o.headroom_bytes = 4 << 20;
    return o;
  }
};

oci::Rootfs must(util::Result<oci::Rootfs> r) {
  if (!r) FAIL(r.error().message());
  return std::move(r).value();
}

void require_clean(const oci::Rootfs& r) {
  std::string out;
  int code = fsck(r.path, &out);
  INFO(out);
  REQUIRE(code == 0);
}

bool exists_in(const fs::path& image, const std::string& path) {
  return debugfs(image, "stat " + path).find("File not found") == std::string::npos;
}

std::string stat_of(const fs::path& image, const std::string& path) { return debugfs(image, "stat " + path); }

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::string error_of(util::Result<oci::Rootfs> r) {
  REQUIRE_FALSE(r.has_value());
  return r.error().message();
}

}  // namespace

TEST_CASE("rootfs: files, directories, ownership, modes and mtimes") {
  Fixture f;
  Entry bin = file("usr/bin/tool", "#!/bin/sh\necho hi\n", 04755);
  bin.uid = 1000;
  bin.gid = 70000;  // needs the high 16 bits
  bin.mtime = 1234567890;
  Entry root = dir("./", 0711);  // the image's root directory metadata
  root.uid = 5;
  Entry etc = dir("etc", 0750);
  etc.mtime = 1111111111;
  auto r = must(f.build({f.layer({root, etc, file("etc/hostname", "box\n"), bin})}));
  require_clean(r);
  REQUIRE(cat(r.path, "/etc/hostname") == "box\n");
  REQUIRE(cat(r.path, "/usr/bin/tool") == "#!/bin/sh\necho hi\n");
  std::string st = stat_of(r.path, "/usr/bin/tool");
  INFO(st);
  CHECK(contains(st, "Mode:  04755"));
  CHECK(contains(st, "User:  1000"));
  CHECK(contains(st, "Group: 70000"));
  CHECK(contains(st, "mtime: 0x499602d2"));
  std::string est = stat_of(r.path, "/etc");
  CHECK(contains(est, "Mode:  0750"));
  CHECK(contains(est, "mtime: 0x423a35c7"));
  // Implicit parent created 0755 root.
  CHECK(contains(stat_of(r.path, "/usr"), "Mode:  0755"));
  CHECK(exists_in(r.path, "/lost+found"));
  std::string rst = stat_of(r.path, "/");
  CHECK(contains(rst, "Mode:  0711"));
  CHECK(contains(rst, "User:     5"));
  CHECK(r.size_bytes % 4096 == 0);
  CHECK(r.sha256 == util::sha256_file(r.path).value());
}

TEST_CASE("rootfs: gzip and zstd layers are autodetected") {
  Fixture f;
  auto r =
      must(f.build({f.layer({file("a", "gz")}, Compression::Gzip), f.layer({file("b", "zst")}, Compression::Zstd)}));
  require_clean(r);
  CHECK(cat(r.path, "/a") == "gz");
  CHECK(cat(r.path, "/b") == "zst");
}

TEST_CASE("rootfs: whiteouts remove lower entries") {
  Fixture f;
  auto l1 = f.layer({dir("a"), file("a/b", "1"), file("a/c", "2"), dir("d"), file("d/e", "3")});
  auto l2 = f.layer({file("a/.wh.b", ""), file(".wh.d", ""), file(".wh.missing", "")});
  auto r = must(f.build({l1, l2}));
  require_clean(r);
  CHECK_FALSE(exists_in(r.path, "/a/b"));
  CHECK(exists_in(r.path, "/a/c"));
  CHECK_FALSE(exists_in(r.path, "/d"));
  CHECK_FALSE(exists_in(r.path, "/a/.wh.b"));
  CHECK_FALSE(exists_in(r.path, "/.wh.missing"));
}

TEST_CASE("rootfs: opaque whiteout hides lower children but keeps this layer's") {
  Fixture f;
  auto l1 = f.layer({dir("d"), file("d/x", "x"), dir("d/sub"), file("d/sub/y", "y")});
  auto l2 = f.layer({dir("d"), file("d/.wh..wh..opq", ""), file("d/z", "z")});
  auto l3 = f.layer({file("d/w", "w")});
  auto r = must(f.build({l1, l2, l3}));
  require_clean(r);
  CHECK_FALSE(exists_in(r.path, "/d/x"));
  CHECK_FALSE(exists_in(r.path, "/d/sub"));
  CHECK(cat(r.path, "/d/z") == "z");
  CHECK(cat(r.path, "/d/w") == "w");
  CHECK_FALSE(exists_in(r.path, "/d/.wh..wh..opq"));
}

TEST_CASE("rootfs: hardlinks share one inode with the right link count") {
  Fixture f;
  auto l1 =
      f.layer({file("bin/busybox", "BB", 0755), hlink("bin/sh", "bin/busybox"), hlink("/usr/bin/env", "/bin/busybox")});
  // A later layer replacing one name breaks only that link.
  auto l2 = f.layer({file("bin/sh", "dash")});
  auto r = must(f.build({l1, l2}));
  require_clean(r);
  std::string a = debugfs(r.path, "stat /bin/busybox");
  INFO(a);
  CHECK(contains(a, "Links: 2"));
  std::string inum_bb = debugfs(r.path, "ncheck -c 0");  // warm-up: the tool runs
  (void)inum_bb;
  std::string i1 = debugfs(r.path, "stat /usr/bin/env");
  CHECK(contains(i1, "Links: 2"));
  CHECK(cat(r.path, "/usr/bin/env") == "BB");
  CHECK(cat(r.path, "/bin/sh") == "dash");
  CHECK(contains(debugfs(r.path, "stat /bin/sh"), "Links: 1"));
}

TEST_CASE("rootfs: fast and slow symlinks, devices, fifos") {
  Fixture f;
  std::string long_target = "/" + std::string(150, 'x') + "/target";
  Entry null_dev;
  null_dev.path = "dev/null";
  null_dev.type = '3';
  null_dev.mode = 0666;
  null_dev.major = 1;
  null_dev.minor = 3;
  Entry big_dev = null_dev;
  big_dev.path = "dev/big";
  big_dev.type = '4';
  big_dev.major = 259;
  big_dev.minor = 70000;
  Entry fifo;
  fifo.path = "run/fifo";
  fifo.type = '6';
  fifo.mode = 0600;
  auto r = must(f.build({f.layer({slink("lib", "usr/lib"), slink("long", long_target), null_dev, big_dev, fifo})}));
  require_clean(r);
  CHECK(contains(stat_of(r.path, "/lib"), "Fast link dest: \"usr/lib\""));
  std::string longst = stat_of(r.path, "/long");
  INFO(longst);
  CHECK(contains(longst, "Type: symlink"));
  CHECK(contains(longst, "Size: " + std::to_string(long_target.size())));
  std::string nst = stat_of(r.path, "/dev/null");
  INFO(nst);
  CHECK(contains(nst, "Type: character special"));
  CHECK(contains(nst, "Device major/minor number: 01:03"));
  std::string bst = stat_of(r.path, "/dev/big");
  INFO(bst);
  CHECK(contains(bst, "Type: block special"));
  CHECK(contains(bst, "Device major/minor number: 259:70000"));
  CHECK(contains(stat_of(r.path, "/run/fifo"), "Type: FIFO"));
}

TEST_CASE("rootfs: xattrs incl. security.capability are stored") {
  Fixture f;
  Entry ping = file("bin/ping", "ELF", 0755);
  std::string cap("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  ping.xattrs = {{"security.capability", cap}, {"user.note", "hello"}};
  Entry big = file("big-xattr", "x");
  big.xattrs = {{"user.big", std::string(1000, 'v')}};
  auto r = must(f.build({f.layer({ping, big})}));
  require_clean(r);
  std::string ea = debugfs(r.path, "ea_list /bin/ping");
  INFO(ea);
  CHECK(contains(ea, "security.capability"));
  CHECK(contains(ea, "user.note (5) = \"hello\""));
  CHECK(contains(debugfs(r.path, "ea_get /big-xattr user.big"), std::string(100, 'v')));
}

TEST_CASE("rootfs: long names up to 255 bytes, longer rejected") {
  Fixture f;
  std::string name(255, 'n');
  auto r = must(f.build({f.layer({file("d/" + name, "long")})}));
  require_clean(r);
  CHECK(cat(r.path, "/d/" + name) == "long");
  std::string err =
      error_of(f.build({f.layer({file("d/" + std::string(256, 'n'), "x")})}, Fixture::small(), k_digest, "bad.ext4"));
  CHECK(contains(err, "longer than 255 bytes"));
  CHECK_FALSE(fs::exists(f.tmp.path() / "bad.ext4"));
}

TEST_CASE("rootfs: deep trees and big directories") {
  Fixture f;
  std::string deep;
  for (int i = 0; i < 300; ++i) deep += "d" + std::to_string(i % 10) + "/";
  std::vector<Entry> entries{file(deep + "leaf", "deep")};
  for (int i = 0; i < 3000; ++i)
    entries.push_back(file("many/file-with-a-longish-name-" + std::to_string(i), std::to_string(i)));
  auto r = must(f.build({f.layer(entries)}));
  require_clean(r);
  CHECK(cat(r.path, "/" + deep + "leaf") == "deep");
  CHECK(cat(r.path, "/many/file-with-a-longish-name-2999") == "2999");
}

TEST_CASE("rootfs: zero blocks stay holes (sparse files)") {
  Fixture f;
  std::string data(8 << 20, '\0');
  data.replace(0, 5, "start");
  data.replace(data.size() - 3, 3, "end");
  auto r = must(f.build({f.layer({file("sparse", data), file("zeros", std::string(64 << 20, '\0'))})}));
  require_clean(r);
  std::string st = stat_of(r.path, "/sparse");
  INFO(st);
  CHECK(contains(st, "Size: 8388608"));
  CHECK(contains(st, "Blockcount: 16"));  // two 4 KiB blocks in 512-byte units
  CHECK(contains(stat_of(r.path, "/zeros"), "Blockcount: 0"));
  CHECK(cat(r.path, "/sparse") == data);
  CHECK(r.size_bytes < (24ull << 20));  // sized by non-zero blocks, not by 72 MiB of file sizes
}

TEST_CASE("rootfs: GNU tar sparse entries") {
  Fixture f;
  fs::path src = f.tmp.path() / "src";
  fs::create_directories(src);
  {
    std::ofstream o(src / "holes", std::ios::binary);
    o << "head";
    o.seekp(100 << 20);
    o << "tail";
  }
  fs::path tarball = f.tmp.path() / "sparse.tar";
  Run t = run({"tar", "--sparse", "--format=posix", "-C", src.string(), "-cf", tarball.string(), "holes"});
  REQUIRE(t.code == 0);
  auto r = must(f.build({{tarball, "application/vnd.oci.image.layer.v1.tar", "sha256:sparse"}}));
  require_clean(r);
  std::string st = stat_of(r.path, "/holes");
  INFO(st);
  CHECK(contains(st, "Size: 104857604"));
  CHECK(contains(st, "Blockcount: 16"));
  CHECK(r.size_bytes < (64ull << 20));  // sized by stored data, not by the declared size
}

TEST_CASE("rootfs: deterministic across output paths, digest changes identity") {
  Fixture f;
  Entry x = file("etc/x", "x");
  x.xattrs = {{"user.a", "1"}};
  auto l1 = f.layer({dir("etc"), x, slink("s", "etc/x"), hlink("h", "etc/x")}, Compression::Gzip);
  auto l2 = f.layer({file("etc/.wh.x", ""), file("etc/y", std::string(100000, 'y'))});
  auto a = must(f.build({l1, l2}, Fixture::small(), k_digest, "a.ext4"));
  fs::create_directories(f.tmp.path() / "other" / "dir");
  auto b = must(oci::build_rootfs({l1, l2}, k_digest, f.tmp.path() / "other" / "dir" / "b.ext4", Fixture::small()));
  require_clean(a);
  CHECK(a.sha256 == b.sha256);
  CHECK(a.size_bytes == b.size_bytes);
  auto c = must(f.build({l1, l2}, Fixture::small(), "sha256:" + std::string(64, 'b'), "c.ext4"));
  CHECK(c.sha256 != a.sha256);
  std::string sb = debugfs(a.path, "stats");
  CHECK_FALSE(contains(sb, "Filesystem UUID:          00000000-0000-0000-0000-000000000000"));
}

TEST_CASE("rootfs: headroom is free space") {
  Fixture f;
  oci::RootfsOptions o = Fixture::small();
  o.headroom_bytes = 64 << 20;
  auto r = must(f.build({f.layer({file("a", std::string(1 << 20, 'a'))})}, o));
  std::string st = debugfs(r.path, "stats");
  auto pos = st.find("Free blocks:");
  REQUIRE(pos != std::string::npos);
  uint64_t free_blocks = std::stoull(st.substr(pos + 12));
  CHECK(free_blocks * 4096 >= (64ull << 20));
  CHECK(r.size_bytes < (64ull << 20) + (16ull << 20));
}

TEST_CASE("rootfs hostile: .. and absolute paths stay inside the root") {
  Fixture f;
  auto r = must(
      f.build({f.layer({file("../../../etc/passwd", "inside"), file("/abs/file", "abs"), file("a/../../b", "b")})}));
  require_clean(r);
  CHECK(cat(r.path, "/etc/passwd") == "inside");
  CHECK(cat(r.path, "/abs/file") == "abs");
  CHECK(cat(r.path, "/b") == "b");
}

TEST_CASE("rootfs hostile: symlinked parents resolve inside the root, final symlinks are replaced") {
  Fixture f;
  auto l1 = f.layer({dir("etc"), file("etc/passwd", "root"), slink("escape", "../../../../tmp"), slink("abs", "/etc"),
                     slink("victim", "/etc/passwd")});
  auto l2 = f.layer({file("escape/owned", "o"), file("abs/new", "n"), file("victim", "replaced")});
  auto r = must(f.build({l1, l2}));
  require_clean(r);
  CHECK(cat(r.path, "/tmp/owned") == "o");  // ../../../../tmp clamps to /tmp of the image
  CHECK(cat(r.path, "/etc/new") == "n");
  CHECK(cat(r.path, "/etc/passwd") == "root");  // not written through the symlink
  CHECK(contains(stat_of(r.path, "/victim"), "Type: regular"));
}

TEST_CASE("rootfs hostile: duplicate entries, last one wins") {
  Fixture f;
  auto r = must(f.build(
      {f.layer({file("dup", "first"), file("dup", "second"), dir("dd"), file("dd/x", "x"), file("dd", "file now")})}));
  require_clean(r);
  CHECK(cat(r.path, "/dup") == "second");
  CHECK(cat(r.path, "/dd") == "file now");
}

TEST_CASE("rootfs hostile: rejected inputs give clear errors and leave nothing behind") {
  Fixture f;
  struct Case {
    std::string name;
    std::vector<oci::RootfsLayer> layers;
    std::string expect;
  };
  std::vector<Case> cases;
  cases.push_back({"hardlink to missing", {f.layer({hlink("h", "nope")})}, "hardlink to a missing target"});
  cases.push_back({"hardlink outside", {f.layer({hlink("h", "../../etc/shadow")})}, "hardlink to a missing target"});
  cases.push_back({"hardlink to dir", {f.layer({dir("d"), hlink("h", "d")})}, "hardlink to a directory"});
  cases.push_back({"root replaced", {f.layer({file(".", "x")})}, "replaces the root directory"});
  cases.push_back({"file as parent", {f.layer({file("f", "x"), file("f/child", "y")})}, "is not a directory"});
  cases.push_back({"symlink loop",
                   {f.layer({slink("a", "b"), slink("b", "a"), file("a/x", "x")})},
                   "too many levels of symbolic links"});
  cases.push_back({"whiteout of dot", {f.layer({file("d/.wh..", "")})}, "whiteout of an invalid name"});
  cases.push_back({"truncated", {f.raw(raw_ustar("t", '0', 100000, "short"))}, "layer sha256:raw"});
  cases.push_back({"absurd size", {f.raw(raw_ustar("huge", '0', 1ull << 40, "x") + tar_end())}, "max_layer_bytes"});
  cases.push_back({"not a tar", {f.raw(std::string(4096, 'z'))}, "layer sha256:raw"});
  cases.push_back({"encrypted",
                   {{f.tmp.path() / "x", "application/vnd.oci.image.layer.v1.tar+gzip+encrypted", "sha256:e"}},
                   "encrypted layers"});
  cases.push_back({"missing blob", {{f.tmp.path() / "nope.tar", "", "sha256:nope"}}, "nope.tar"});
  fs::create_directories(f.tmp.path() / "out");
  for (auto& c : cases) {
    INFO(c.name);
    auto r = oci::build_rootfs(c.layers, k_digest, f.tmp.path() / "out" / "x.ext4", Fixture::small());
    REQUIRE_FALSE(r.has_value());
    INFO(r.error().message());
    CHECK(contains(r.error().message(), c.expect));
    CHECK(fs::is_empty(f.tmp.path() / "out"));
  }
}

TEST_CASE("rootfs hostile: decompression bomb is stopped by max_layer_bytes") {
  Fixture f;
  auto bomb = f.layer({file("zeros", std::string(32 << 20, '\0'))}, Compression::Gzip);
  REQUIRE(fs::file_size(bomb.blob) < (1 << 20));
  oci::RootfsOptions o = Fixture::small();
  o.max_layer_bytes = 8 << 20;
  std::string err = error_of(f.build({bomb}, o));
  CHECK(contains(err, "max_layer_bytes"));
  CHECK_FALSE(fs::exists(f.tmp.path() / "image.ext4"));
  // Past 256 MiB, a layer expanding more than max_expansion_ratio times is refused.
  auto ratio_bomb = f.layer({file("zeros", std::string(300 << 20, '\0'))}, Compression::Gzip);
  o.max_layer_bytes = 1ull << 30;
  std::string ratio_err = error_of(f.build({ratio_bomb}, o));
  CHECK(contains(ratio_err, "max_expansion_ratio"));
  o.max_expansion_ratio = 0;
  auto ok = must(f.build({ratio_bomb}, o, k_digest, "zeros.ext4"));  // off: a legit (zero) file
  CHECK(ok.size_bytes < (16ull << 20));
  o.max_entries = 2;
  o.max_layer_bytes = 1ull << 30;
  CHECK(contains(error_of(f.build({f.layer({file("a", ""), file("b", ""), file("c", "")})}, o)), "entries"));
}

TEST_CASE("rootfs cache: ensure_rootfs builds once, reuses, and leaves no debris on failure") {
  Fixture f;
  util::Dirs dirs{f.tmp.path() / "cache", f.tmp.path() / "state", f.tmp.path() / "config"};
  auto l = f.layer({file("hello", "world")});
  auto a = oci::ensure_rootfs(dirs, k_digest, {l}, Fixture::small());
  if (!a) FAIL(a.error().message());
  fs::path expected = dirs.cache / "rootfs" / (std::string(64, 'a') + ".ext4");
  CHECK(a->path == expected);
  CHECK(oci::rootfs_cache_path(dirs, k_digest).value() == expected);
  CHECK(fs::exists(dirs.cache / "rootfs" / (std::string(64, 'a') + ".json")));
  CHECK((fs::status(expected).permissions() & fs::perms::owner_write) == fs::perms::none);
  auto mtime = fs::last_write_time(expected);
  // Reused: a second call with a broken layer list still returns the cached image.
  auto b = oci::ensure_rootfs(dirs, k_digest, {}, Fixture::small());
  if (!b) FAIL(b.error().message());
  CHECK(b->sha256 == a->sha256);
  CHECK(fs::last_write_time(expected) == mtime);

  // Another cache dir, same digest: bit-identical.
  util::Dirs other{f.tmp.path() / "elsewhere" / "cache", f.tmp.path() / "s", f.tmp.path() / "c"};
  auto c = oci::ensure_rootfs(other, k_digest, {l}, Fixture::small());
  if (!c) FAIL(c.error().message());
  CHECK(c->sha256 == a->sha256);

  // Temp files of a build that died are removed by the next build.
  fs::path stale = dirs.cache / "rootfs" / (std::string(64, 'd') + ".ext4.tmp-123456");
  std::ofstream(stale) << "partial";
  // A failing build leaves the cache as it was.
  std::string bad = "sha256:" + std::string(64, 'c');
  auto e = oci::ensure_rootfs(dirs, bad, {f.layer({hlink("x", "missing")})}, Fixture::small());
  REQUIRE_FALSE(e.has_value());
  CHECK(contains(e.error().message(), "rootfs " + bad));
  size_t files = 0;
  for ([[maybe_unused]] auto& entry : fs::directory_iterator(dirs.cache / "rootfs")) ++files;
  CHECK(files == 2);
  CHECK_FALSE(fs::exists(stale));
  CHECK_FALSE(oci::ensure_rootfs(dirs, "sha256:nothex", {l}, Fixture::small()).has_value());
}

namespace {

// The rig's fixture layouts (tests/rig/make_image.py), built into DIR.
struct RigImage {
  std::string manifest_digest;
  std::vector<oci::RootfsLayer> layers;
};

RigImage rig_image(const fs::path& layout) {
  const char* script =
      "import json,sys\n"
      "L=sys.argv[1]\n"
      "i=json.load(open(L+'/index.json'))\n"
      "d=i['manifests'][0]['digest']\n"
      "m=json.load(open(L+'/blobs/sha256/'+d.split(':')[1]))\n"
      "print(d)\n"
      "for l in m['layers']: print(l['digest'], l['mediaType'])\n";
  Run r = run({"python3", "-c", script, layout.string()});
  REQUIRE(r.code == 0);
  RigImage img;
  std::istringstream in(r.out);
  std::getline(in, img.manifest_digest);
  std::string digest, media;
  while (in >> digest >> media) img.layers.push_back({layout / "blobs" / "sha256" / digest.substr(7), media, digest});
  return img;
}

}  // namespace

TEST_CASE("rootfs: rig fixture images (busybox, layers, hostile-*) in two cache dirs") {
  Fixture f;
  fs::path images = f.tmp.path() / "images";
  std::vector<std::string> names{"busybox",     "layers",           "hostile-dotdot", "hostile-abs", "hostile-symlink",
                                 "hostile-dup", "hostile-hardlink", "hostile-size",   "hostile-bomb"};
  std::vector<std::string> argv{"python3", std::string(MATCHLOCK_SOURCE_DIR) + "/tests/rig/make_image.py", "--out",
                                images.string()};
  argv.insert(argv.end(), names.begin(), names.end());
  Run made = run(argv);
  INFO(made.out);
  REQUIRE(made.code == 0);
  util::Dirs one{f.tmp.path() / "one" / "cache", f.tmp.path() / "s1", f.tmp.path() / "c1"};
  util::Dirs two{f.tmp.path() / "two" / "deeper" / "cache", f.tmp.path() / "s2", f.tmp.path() / "c2"};
  oci::RootfsOptions options;  // the defaults the product uses
  for (const auto& name : names) {
    INFO(name);
    RigImage img = rig_image(images / name);
    auto a = oci::ensure_rootfs(one, img.manifest_digest, img.layers, options);
    bool bad = name == "hostile-hardlink" || name == "hostile-size" || name == "hostile-bomb";
    if (bad) {
      REQUIRE_FALSE(a.has_value());
      INFO(a.error().message());
      CHECK(contains(a.error().message(), "layer " + img.layers[0].digest));
      CHECK(contains(a.error().message(), name == "hostile-hardlink" ? "hardlink to a missing target"
                                          : name == "hostile-size"   ? "max_layer_bytes"
                                                                     : "max_expansion_ratio"));
      continue;
    }
    if (!a) FAIL(a.error().message());
    auto b = oci::ensure_rootfs(two, img.manifest_digest, img.layers, options);
    if (!b) FAIL(b.error().message());
    CHECK(a->sha256 == b->sha256);
    CHECK(a->size_bytes == b->size_bytes);
    require_clean(*a);
    if (name == "layers") {
      Run cmp = run({"python3", std::string(MATCHLOCK_SOURCE_DIR) + "/tests/rig/tree_dump.py", "ext4", a->path.string(),
                     "--compare", (images / "layers.expected.json").string()});
      INFO(cmp.out);
      CHECK(cmp.code == 0);
    }
    if (name == "hostile-dotdot") {
      CHECK(cat(a->path, "/escape") == "escaped\n");
      CHECK(cat(a->path, "/escape2") == "escaped\n");
    }
    if (name == "hostile-abs") CHECK(cat(a->path, "/abs-dir/x") == "abs\n");
    if (name == "hostile-symlink") {
      CHECK(cat(a->path, "/etc/passwd") == "pwned\n");  // the image's own /etc
      CHECK(cat(a->path, "/tmp/escaped") == "pwned\n");
    }
    if (name == "hostile-dup") {
      CHECK(cat(a->path, "/dup") == "second\n");
      CHECK(cat(a->path, "/f2d/child") == "c\n");
      CHECK(cat(a->path, "/d2f") == "file\n");
    }
  }
  // Only the good images' .ext4 + .json remain: failures leave nothing.
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(one.cache / "rootfs")) {
    INFO(e.path());
    CHECK((e.path().extension() == ".ext4" || e.path().extension() == ".json"));
    ++files;
  }
  CHECK(files == 2 * (names.size() - 3));
}

TEST_CASE("rootfs cache: concurrent ensure_rootfs of one digest builds once") {
  Fixture f;
  util::Dirs dirs{f.tmp.path() / "cache", f.tmp.path() / "state", f.tmp.path() / "config"};
  auto l = f.layer({file("big", std::string(4 << 20, 'b')), file("small", "s")});
  std::vector<util::Result<oci::Rootfs>> results(4, util::make_error(util::ErrorCode::Internal, "not run"));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i)
    threads.emplace_back([&, i] { results[i] = oci::ensure_rootfs(dirs, k_digest, {l}, Fixture::small()); });
  for (auto& t : threads) t.join();
  for (auto& r : results) {
    if (!r) FAIL(r.error().message());
    CHECK(r->sha256 == results[0]->sha256);
  }
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dirs.cache / "rootfs")) ++files;
  CHECK(files == 2);
  require_clean(*results[0]);
}
