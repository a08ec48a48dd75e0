// workspace::FileServer without a VM: FUSE requests encoded as the guest kernel
// sends them, replies checked, host directory inspected. Escape cases included.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <random>

#include "tests/unit/workspace_harness.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"
#include "util/beneath.hpp"

namespace fs = std::filesystem;
using workspace::k_root_node;
using wstest::Kernel;

using wstest::attr_of;
using wstest::Share;

TEST_CASE("workspace INIT negotiates 1 MiB writes and requests before INIT fail") {
  util::TempDir tmp = util::TempDir::create(fs::temp_directory_path(), "ws-test-").value();
  workspace::ShareOptions o;
  o.root = tmp.path();
  auto server = workspace::FileServer::create(o).value();
  Kernel k(*server);
  CHECK(k.lookup(k_root_node, "x").error == EIO);
  auto r = k.init();
  REQUIRE(r.error == 0);
  auto out = r.as<fuse_init_out>();
  CHECK(out.major == FUSE_KERNEL_VERSION);
  CHECK(out.max_write >= (128u << 10));
  CHECK(out.max_write == (1u << 20));
  CHECK((out.flags & FUSE_MAX_PAGES));
  CHECK(k.last_unique_ok);
}

TEST_CASE("workspace create, write, read back, owner mapped to the sandbox user") {
  workspace::ShareOptions o;
  o.uid = 1000;
  o.gid = 1001;
  Share s(o);
  auto c = s.k->create(k_root_node, "hello.txt", O_WRONLY | O_CREAT, 0640);
  REQUIRE(c.error == 0);
  struct CreateOut {
    fuse_entry_out e;
    fuse_open_out o;
  };
  auto co = c.as<CreateOut>();
  CHECK(co.e.attr.uid == 1000);
  CHECK(co.e.attr.gid == 1001);
  std::string big(1 << 20, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  auto w = s.k->write(co.e.nodeid, co.o.fh, 0, big);
  REQUIRE(w.error == 0);
  CHECK(w.as<fuse_write_out>().size == big.size());
  s.k->release(co.e.nodeid, co.o.fh);
  CHECK(s.get(s.root / "hello.txt") == big);
  struct stat st;
  REQUIRE(::stat((s.root / "hello.txt").c_str(), &st) == 0);
  CHECK(st.st_uid == ::geteuid());  // the host file keeps the host user's ownership
  CHECK((st.st_mode & 0777) == 0640);
  auto r = s.read_all(co.e.nodeid);
  REQUIRE(r.error == 0);
  CHECK(r.body == big);
  CHECK(attr_of(*s.k, co.e.nodeid).size == big.size());
}

TEST_CASE("workspace host-side edits are seen on the next request") {
  Share s;
  s.put(s.root / "a.txt", "one");
  uint64_t n = s.k->node(k_root_node, "a.txt");
  REQUIRE(n != 0);
  CHECK(s.read_all(n).body == "one");
  s.put(s.root / "a.txt", "three");
  CHECK(attr_of(*s.k, n).size == 5);
  CHECK(s.read_all(n).body == "three");
  s.put(s.root / "new.txt", "n");
  CHECK(s.k->node(k_root_node, "new.txt") != 0);
  fs::remove(s.root / "new.txt");
  auto gone = s.k->lookup(k_root_node, "new.txt");
  CHECK(gone.error == 0);
  CHECK(gone.as<fuse_entry_out>().nodeid == 0);  // a negative entry
}

TEST_CASE("workspace symlink to /etc/passwd is served as a link, never followed on the host") {
  Share s;
  fs::create_symlink("/etc/passwd", s.root / "passwd");
  fs::create_symlink(s.outside, s.root / "out");
  auto l = s.k->lookup(k_root_node, "passwd");
  REQUIRE(l.error == 0);
  auto e = l.as<fuse_entry_out>();
  CHECK(S_ISLNK(e.attr.mode));
  auto rl = s.k->call(FUSE_READLINK, e.nodeid, "");
  REQUIRE(rl.error == 0);
  CHECK(rl.body == "/etc/passwd");
  auto o = s.k->open(e.nodeid, O_RDONLY);
  CHECK(o.error != 0);  // opening the link itself fails; the host file is never read
  // A directory symlink: nothing beneath it is reachable.
  uint64_t out = s.k->node(k_root_node, "out");
  REQUIRE(out != 0);
  CHECK(s.k->node(out, "secret") == 0);
  CHECK(s.k->create(out, "planted", O_WRONLY | O_CREAT).error != 0);
  CHECK(!fs::exists(s.outside / "planted"));
  CHECK(s.k->mkdir(out, "d").error != 0);
  CHECK(!fs::exists(s.outside / "d"));
}

TEST_CASE("workspace names with '/' or '..' are refused") {
  Share s;
  s.put(s.root / "f", "x");
  for (const char* bad : {"..", ".", "", "a/b", "../outside", "../../etc/passwd"}) {
    INFO(bad);
    CHECK(s.k->lookup(k_root_node, bad).error == EINVAL);
    CHECK(s.k->create(k_root_node, bad, O_WRONLY | O_CREAT).error == EINVAL);
    CHECK(s.k->mkdir(k_root_node, bad).error == EINVAL);
    CHECK(s.k->rename(k_root_node, "f", k_root_node, bad).error == EINVAL);
  }
  CHECK(fs::exists(s.root / "f"));
  CHECK(!fs::exists(s.outside / "f"));
  // A name longer than NAME_MAX, an unterminated name, a short message.
  CHECK(s.k->lookup(k_root_node, std::string(300, 'a')).error == EINVAL);
  CHECK(s.k->call(FUSE_LOOKUP, k_root_node, "abc").error == EINVAL);
  CHECK(s.k->call(FUSE_WRITE, k_root_node, "abc").error == EINVAL);
}

TEST_CASE("workspace rename and link stay inside the share") {
  Share s;
  s.put(s.root / "f", "data");
  uint64_t f = s.k->node(k_root_node, "f");
  // There is no node for anything outside: unknown ids fail.
  CHECK(s.k->rename(k_root_node, "f", 987654, "f").error == ENOENT);
  CHECK(s.k->link(987654, k_root_node, "x").error == ENOENT);
  CHECK(s.k->link(f, 987654, "x").error == ENOENT);
  CHECK(fs::exists(s.root / "f"));
  // Hard link inside works; the link is the same host inode.
  REQUIRE(s.k->link(f, k_root_node, "g").error == 0);
  CHECK(fs::equivalent(s.root / "f", s.root / "g"));
  // A symlink is linked as itself, not its target.
  fs::create_symlink(s.outside / "secret", s.root / "ls");
  uint64_t ls = s.k->node(k_root_node, "ls");
  REQUIRE(s.k->link(ls, k_root_node, "ls2").error == 0);
  CHECK(fs::is_symlink(s.root / "ls2"));
  CHECK(fs::hard_link_count(s.outside / "secret") == 1);
}

TEST_CASE("workspace RENAME_NOREPLACE and RENAME_EXCHANGE keep node paths right") {
  Share s;
  s.put(s.root / "a", "AAAA");
  s.put(s.root / "b", "BB");
  uint64_t a = s.k->node(k_root_node, "a"), b = s.k->node(k_root_node, "b");
#if defined(MATCHLOCK_TEST_POSIX) && !defined(__APPLE__)
  // The POSIX layer without renameatx_np cannot honour either flag atomically: it refuses
  // them whole (EINVAL, what Linux says for a flag it lacks) and renames nothing. The guest's
  // mv then falls back to a plain rename.
  CHECK(s.k->rename(k_root_node, "a", k_root_node, "b", RENAME_NOREPLACE).error == EINVAL);
  CHECK(s.k->rename(k_root_node, "a", k_root_node, "b", RENAME_EXCHANGE).error == EINVAL);
  CHECK(s.get(s.root / "a") == "AAAA");
  CHECK(s.get(s.root / "b") == "BB");
  REQUIRE(s.k->rename(k_root_node, "a", k_root_node, "tmp").error == 0);
  REQUIRE(s.k->rename(k_root_node, "b", k_root_node, "a").error == 0);
  REQUIRE(s.k->rename(k_root_node, "tmp", k_root_node, "b").error == 0);
#else
  CHECK(s.k->rename(k_root_node, "a", k_root_node, "b", RENAME_NOREPLACE).error == EEXIST);
  REQUIRE(s.k->rename(k_root_node, "a", k_root_node, "b", RENAME_EXCHANGE).error == 0);
#endif
  CHECK(s.get(s.root / "a") == "BB");
  CHECK(s.read_all(a).body == "AAAA");  // node a follows its inode to the name "b"
  CHECK(s.read_all(b).body == "BB");
  REQUIRE(s.k->mkdir(k_root_node, "dir").error == 0);
  uint64_t dir = s.k->node(k_root_node, "dir");
  REQUIRE(s.k->rename(k_root_node, "a", dir, "moved").error == 0);
  CHECK(s.get(s.root / "dir/moved") == "BB");
  CHECK(s.read_all(b).body == "BB");
  CHECK(s.k->rename(k_root_node, "b", k_root_node, "c", RENAME_WHITEOUT).error == EINVAL);
}

TEST_CASE("workspace a directory swapped for a symlink is not followed") {
  Share s;
  s.put(s.root / "d/f", "inside");
  uint64_t d = s.k->node(k_root_node, "d");
  uint64_t f = s.k->node(d, "f");
  REQUIRE(f != 0);
  s.put(s.outside / "f", "outside");
  fs::rename(s.root / "d", s.root / "d.old");
  fs::create_symlink(s.outside, s.root / "d");
  CHECK(s.k->node(d, "f") == 0);
  CHECK(s.read_all(f).error != 0);
  CHECK(s.k->create(d, "planted", O_WRONLY | O_CREAT).error != 0);
  CHECK(s.k->mkdir(d, "x").error != 0);
  CHECK(s.k->rename(k_root_node, "d.old", d, "stolen").error != 0);
  fuse_setattr_in in{};
  in.valid = FATTR_SIZE;
  in.size = 0;
  CHECK(s.k->setattr(f, in).error != 0);
  CHECK(s.get(s.outside / "f") == "outside");
  CHECK(!fs::exists(s.outside / "planted"));
  CHECK(!fs::exists(s.outside / "x"));
}

TEST_CASE("workspace read-only share answers EROFS to every change") {
  workspace::ShareOptions o;
  o.access = workspace::Access::ReadOnly;
  Share s(o);
  s.put(s.root / "f", "data");
  uint64_t f = s.k->node(k_root_node, "f");
  CHECK(s.read_all(f).body == "data");
  CHECK(s.k->open(f, O_WRONLY).error == EROFS);
  CHECK(s.k->open(f, O_RDONLY | O_TRUNC).error == EROFS);
  CHECK(s.k->create(k_root_node, "n", O_WRONLY | O_CREAT).error == EROFS);
  CHECK(s.k->mkdir(k_root_node, "d").error == EROFS);
  CHECK(s.k->call(FUSE_UNLINK, k_root_node, wstest::cstr("f")).error == EROFS);
  CHECK(s.k->rename(k_root_node, "f", k_root_node, "g").error == EROFS);
  CHECK(s.k->link(f, k_root_node, "g").error == EROFS);
  fuse_setattr_in in{};
  in.valid = FATTR_MODE;
  in.mode = 0777;
  CHECK(s.k->setattr(f, in).error == EROFS);
  CHECK(s.get(s.root / "f") == "data");
  CHECK(fs::directory_iterator(s.root) != fs::directory_iterator());
  CHECK(!fs::exists(s.root / "g"));
}

TEST_CASE("workspace exclude globs hide entries") {
  workspace::ShareOptions o;
  o.exclude = {".env", "**/node_modules", "secrets/*"};
  Share s(o);
  s.put(s.root / ".env", "TOKEN=1");
  s.put(s.root / "node_modules/x.js", "x");
  s.put(s.root / "pkg/node_modules/y.js", "y");
  s.put(s.root / "secrets/key", "k");
  s.put(s.root / "keep.txt", "k");
  CHECK(s.k->node(k_root_node, ".env") == 0);
  CHECK(s.k->node(k_root_node, "node_modules") == 0);
  uint64_t pkg = s.k->node(k_root_node, "pkg");
  REQUIRE(pkg != 0);
  CHECK(s.k->node(pkg, "node_modules") == 0);
  uint64_t sec = s.k->node(k_root_node, "secrets");
  REQUIRE(sec != 0);
  CHECK(s.k->node(sec, "key") == 0);
  auto names = s.k->list(k_root_node);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"keep.txt", "pkg", "secrets"});
  auto plus = s.k->list(k_root_node, true);
  std::sort(plus.begin(), plus.end());
  CHECK(plus == names);
  CHECK(s.k->list(sec).empty());
  CHECK(s.k->create(k_root_node, ".env", O_WRONLY | O_CREAT | O_TRUNC).error == EACCES);
  CHECK(s.k->rename(k_root_node, "keep.txt", k_root_node, ".env").error == EACCES);
  CHECK(s.get(s.root / ".env") == "TOKEN=1");
}

TEST_CASE("workspace the Matchlockfile and its lock stay read-only") {
  util::TempDir tmp = util::TempDir::create(fs::temp_directory_path(), "ws-test-").value();
  fs::path root = tmp.path() / "proj";
  Share::put(root / "sub/Matchlockfile", "version = 1\n");
  Share::put(root / "sub/Matchlockfile.lock", "lock\n");
  Share::put(root / "other", "o");
  workspace::ShareOptions o;
  o.root = root;
  o.read_only_files = {root / "sub/Matchlockfile", root / "sub/Matchlockfile.lock"};
  auto server = workspace::FileServer::create(o).value();
  Kernel k(*server);
  REQUIRE(k.init().error == 0);
  uint64_t sub = k.node(k_root_node, "sub");
  uint64_t mf = k.node(sub, "Matchlockfile");
  REQUIRE(mf != 0);
  CHECK((attr_of(k, mf).mode & 0222) == 0);
  CHECK(k.open(mf, O_RDONLY).error == 0);
  CHECK(k.open(mf, O_WRONLY).error == EACCES);
  CHECK(k.open(mf, O_RDWR).error == EACCES);
  CHECK(k.open(mf, O_RDONLY | O_TRUNC).error == EACCES);
  CHECK(k.create(sub, "Matchlockfile", O_WRONLY | O_CREAT | O_TRUNC).error == EACCES);
  CHECK(k.call(FUSE_UNLINK, sub, wstest::cstr("Matchlockfile.lock")).error == EACCES);
  uint64_t other = k.node(k_root_node, "other");
  CHECK(k.rename(k_root_node, "other", sub, "Matchlockfile").error == EACCES);
  CHECK(k.rename(sub, "Matchlockfile", k_root_node, "moved").error == EACCES);
  CHECK(k.rename(k_root_node, "sub", k_root_node, "sub2").error == EACCES);
  CHECK(k.call(FUSE_RMDIR, k_root_node, wstest::cstr("sub")).error == EACCES);
  // A hard link is the same inode: still read-only under the new name.
  CHECK(k.link(mf, k_root_node, "alias").error == EACCES);
  fuse_setattr_in in{};
  in.valid = FATTR_SIZE;
  CHECK(k.setattr(mf, in).error == EACCES);
  in.valid = FATTR_MODE;
  in.mode = 0666;
  CHECK(k.setattr(mf, in).error == EACCES);
  CHECK(Share::get(root / "sub/Matchlockfile") == "version = 1\n");
  CHECK(Share::get(root / "sub/Matchlockfile.lock") == "lock\n");
  CHECK(other != 0);
}

TEST_CASE("workspace chown to the sandbox user is a no-op, to anyone else EPERM") {
  workspace::ShareOptions o;
  o.uid = 1000;
  o.gid = 1000;
  Share s(o);
  s.put(s.root / "f", "x");
  uint64_t f = s.k->node(k_root_node, "f");
  fuse_setattr_in in{};
  in.valid = FATTR_UID | FATTR_GID;
  in.uid = 1000;
  in.gid = 1000;
  CHECK(s.k->setattr(f, in).error == 0);
  in.uid = 0;
  CHECK(s.k->setattr(f, in).error == EPERM);
  in.valid = FATTR_MODE | FATTR_MTIME;
  in.mode = 0600;
  in.mtime = 1000000000;
  REQUIRE(s.k->setattr(f, in).error == 0);
  struct stat st;
  REQUIRE(::stat((s.root / "f").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(st.st_mtime == 1000000000);
}

TEST_CASE("workspace readdirplus counts lookups and forget drops nodes") {
  Share s;
  for (int i = 0; i < 500; ++i) s.put(s.root / ("f" + std::to_string(i)), "x");
  size_t before = s.server->nodes();
  auto names = s.k->list(k_root_node, true);
  CHECK(names.size() == 500);
  CHECK(s.server->nodes() == before + 500);
  for (int i = 0; i < 500; ++i) {
    uint64_t n = s.k->node(k_root_node, "f" + std::to_string(i));
    fuse_forget_in in{};
    in.nlookup = 2;  // one from READDIRPLUS, one from this lookup
    s.k->call(FUSE_FORGET, n, wstest::bytes(in));
  }
  CHECK(s.server->nodes() == before);
  CHECK(s.server->open_handles() == 0);
}

TEST_CASE("workspace random requests never crash the server") {
  Share s;
  s.put(s.root / "f", "data");
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    uint32_t opcode = rng() % 60;
    std::string args(rng() % 128, '\0');
    for (auto& c : args) c = static_cast<char>(rng());
    if (rng() % 2) args = wstest::cstr("f") + args;
    s.k->call(opcode, rng() % 4, args);
    CHECK(s.k->last_unique_ok | (s.k->last_len == 0));
  }
  // Still serving afterwards; nothing outside the share was touched.
  fs::permissions(s.root, fs::perms::owner_all);
  s.put(s.root / "g", "still");
  CHECK(s.read_all(s.k->node(k_root_node, "g")).body == "still");
  CHECK(s.get(s.outside / "secret") == "host secret\n");
  CHECK(std::distance(fs::directory_iterator(s.outside), fs::directory_iterator()) == 1);
}

TEST_CASE("workspace setattr acts on the node itself and never follows a symlink") {
  // util::NodeRef: an O_PATH fd on Linux, *at() calls with AT_SYMLINK_NOFOLLOW on POSIX.
  Share s;
  s.put(s.root / "f", "data");
  s.put(s.outside / "target", "outside");
  ::chmod((s.outside / "target").c_str(), 0644);
  struct timespec old_times[2] = {{1000, 0}, {1000, 0}};
  ::utimensat(AT_FDCWD, (s.outside / "target").c_str(), old_times, 0);
  fs::create_symlink(s.outside / "target", s.root / "ln");
  uint64_t f = s.k->node(k_root_node, "f"), ln = s.k->node(k_root_node, "ln");
  REQUIRE(f != 0);
  REQUIRE(ln != 0);
  fuse_setattr_in in{};
  in.valid = FATTR_MODE;
  in.mode = 0600;
  CHECK(s.k->setattr(ln, in).error == EOPNOTSUPP);
  in.valid = FATTR_SIZE;
  in.size = 0;
  CHECK(s.k->setattr(ln, in).error == EINVAL);
  in.valid = FATTR_MTIME;
  in.mtime = 2000000000;
  CHECK(s.k->setattr(ln, in).error == 0);  // the link's own time
  struct stat st;
  REQUIRE(::stat((s.outside / "target").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK(st.st_size == 7);
  CHECK(st.st_mtime == 1000);
  REQUIRE(::lstat((s.root / "ln").c_str(), &st) == 0);
  CHECK(st.st_mtime == 2000000000);
  // A file the server cannot read or write any more can still be chmod-ed back, and truncated
  // by path once it is writable again.
  in.valid = FATTR_MODE;
  in.mode = 0;
  REQUIRE(s.k->setattr(f, in).error == 0);
  in.mode = 0644;
  REQUIRE(s.k->setattr(f, in).error == 0);
  in.valid = FATTR_SIZE;
  in.size = 2;
  REQUIRE(s.k->setattr(f, in).error == 0);
  CHECK(s.get(s.root / "f") == "da");
  // The root node itself.
  in.valid = FATTR_MODE | FATTR_MTIME;
  in.mode = 0750;
  in.mtime = 1500000000;
  REQUIRE(s.k->setattr(k_root_node, in).error == 0);
  REQUIRE(::stat(s.root.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0750);
  CHECK(st.st_mtime == 1500000000);
}
