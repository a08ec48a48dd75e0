// exclude as a barrier (docs/matchlockfile.md, docs/workspace.md "exclude"):
// raw FUSE requests try to reach excluded host content under another name:
// rename/exchange of an ancestor, moves into an excluded place, links,
// symlinks, nodeids and handles kept from before, forged nodeids. Each case
// says what it tried; the host tree is checked afterwards.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "tests/unit/workspace_harness.hpp"

namespace fs = std::filesystem;
using workspace::k_root_node;
using wstest::Share;

namespace {

// The excluded host files of every test below, each holding a unique secret.
struct Hidden {
  const char* pattern;
  const char* dir;   // the visible ancestor an attacker would rename
  const char* file;  // the excluded file, relative to the share
};
constexpr Hidden k_hidden[] = {
    {"private/**", "private", "private/key.txt"},
    {"star/*", "star", "star/one.txt"},
    {"dir/file", "dir", "dir/file"},
    {"**/secret.txt", "a", "a/b/secret.txt"},
};

std::string secret_of(const std::string& rel) { return "SECRET:" + rel; }

workspace::ShareOptions barrier_options() {
  workspace::ShareOptions o;
  for (const auto& h : k_hidden) o.exclude.push_back(h.pattern);
  o.exclude.push_back("*.key");
  o.exclude.push_back("vault/**");
  o.exclude.push_back("node_modules");
  return o;
}

// A share with the excluded files above, plus visible neighbours.
struct Barrier : Share {
  Barrier() : Share(barrier_options()) {
    for (const auto& h : k_hidden) put(root / h.file, secret_of(h.file));
    put(root / "private/sub/deep.txt", secret_of("private/sub/deep.txt"));
    put(root / "star/sub/two.txt", secret_of("star/sub/two.txt"));
    put(root / "top.key", secret_of("top.key"));
    put(root / "node_modules/m.js", secret_of("node_modules/m.js"));
    put(root / "dir/other", "visible");
    put(root / "a/b/visible.txt", "visible");
    put(root / "pub/readme", "visible");
    fs::create_directories(root / "empty");
  }
  // Every excluded file is still on the host, where it was, with its bytes.
  void host_intact() {
    for (const char* f : {"private/key.txt", "private/sub/deep.txt", "star/one.txt", "star/sub/two.txt", "dir/file",
                          "a/b/secret.txt", "top.key", "node_modules/m.js"})
      CHECK(get(root / f) == secret_of(f));
  }
  // No byte of any secret can be read through any node id the server has
  // issued or could be guessed (ids are small counters): the class check
  // behind every case below.
  void no_secret_reachable() {
    for (uint64_t node = 0; node < 4 * server->nodes() + 64; ++node) {
      auto r = read_all(node);
      if (!r.error) CHECK(r.body.find("SECRET:") == std::string::npos);
      for (const auto& name : k->list(node)) {
        INFO("node " << node << " lists " << name);
        CHECK(name != "key.txt");
        CHECK(name != "one.txt");
        CHECK(name != "file");
        CHECK(name != "secret.txt");
        CHECK(name != "top.key");
        CHECK(name != "deep.txt");
        CHECK(name != "two.txt");
        CHECK(name != "m.js");
      }
    }
  }
};

uint64_t walk(Share& s, const std::string& rel) {
  uint64_t node = k_root_node;
  size_t start = 0;
  while (node && start <= rel.size()) {
    size_t slash = rel.find('/', start);
    node = s.k->node(node, rel.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return node;
}

}  // namespace

TEST_CASE("workspace exclude: excluded content is invisible under its own name") {
  Barrier s;
  for (const auto& h : k_hidden) {
    INFO(h.pattern);
    CHECK(walk(s, h.file) == 0);
    CHECK(walk(s, h.dir) != 0);  // the ancestor itself is visible (an empty-looking dir)
  }
  CHECK(walk(s, "top.key") == 0);
  CHECK(walk(s, "node_modules") == 0);
  CHECK(walk(s, "star/sub") == 0);  // "star/*" hides the subdirectory and everything in it
  CHECK(walk(s, "private/sub/deep.txt") == 0);
  CHECK(walk(s, "dir/other") != 0);  // "dir/file" hides one name only
  CHECK(walk(s, "a/b/visible.txt") != 0);
  CHECK(s.k->list(walk(s, "private")).empty());
  CHECK(s.k->list(walk(s, "star"), true).empty());
  CHECK(s.k->list(walk(s, "dir")) == std::vector<std::string>{"other"});
  s.no_secret_reachable();
}

TEST_CASE("workspace exclude: renaming or exchanging an ancestor of excluded content is refused") {
  Barrier s;
  uint64_t pub = walk(s, "pub");
  REQUIRE(pub != 0);
  for (const auto& h : k_hidden) {
    INFO(h.pattern << ": tried to move " << h.dir);
    uint64_t dir = walk(s, h.dir);
    REQUIRE(dir != 0);
    // The attack: mv private p2 (every rename request shape).
    CHECK(s.k->rename1(k_root_node, h.dir, k_root_node, "p2").error == EACCES);
    CHECK(s.k->rename(k_root_node, h.dir, k_root_node, "p2").error == EACCES);
    CHECK(s.k->rename(k_root_node, h.dir, k_root_node, "p2", RENAME_NOREPLACE).error == EACCES);
    CHECK(s.k->rename(k_root_node, h.dir, pub, h.dir).error == EACCES);  // into another directory, same name
    // Exchange with an empty visible directory, from either side.
    CHECK(s.k->rename(k_root_node, h.dir, k_root_node, "empty", RENAME_EXCHANGE).error == EACCES);
    CHECK(s.k->rename(k_root_node, "empty", k_root_node, h.dir, RENAME_EXCHANGE).error == EACCES);
    CHECK(s.k->rename(k_root_node, h.dir, k_root_node, "p2", RENAME_WHITEOUT).error == EINVAL);
    // The renamed name is not there, and the old one still hides its content.
    CHECK(walk(s, "p2") == 0);
    CHECK(walk(s, h.file) == 0);
  }
  // Deeper ancestors: a/b holds secret.txt too; "private/sub" holds deep.txt.
  uint64_t a = walk(s, "a");
  CHECK(s.k->rename(a, "b", a, "c").error == EACCES);
  CHECK(s.k->rename(walk(s, "private"), "sub", k_root_node, "sub").error == EACCES);
  // An excluded name itself can be neither source nor target.
  CHECK(s.k->rename(walk(s, "dir"), "file", k_root_node, "stolen").error == EACCES);
  CHECK(s.k->rename(k_root_node, "top.key", k_root_node, "top.txt").error == EACCES);
  CHECK(s.k->rename(k_root_node, "pub", k_root_node, "node_modules", RENAME_EXCHANGE).error == EACCES);
  s.host_intact();
  CHECK(!fs::exists(s.root / "p2"));
  CHECK(!fs::exists(s.root / "pub/private"));
  s.no_secret_reachable();
}

TEST_CASE("workspace exclude: visible content cannot be moved, linked or created into an excluded place") {
  Barrier s;
  REQUIRE(s.k->mkdir(k_root_node, "q").error == 0);
  uint64_t q = walk(s, "q");
  auto c = s.k->create(q, "key.txt", O_WRONLY | O_CREAT);
  REQUIRE(c.error == 0);
  uint64_t qf = c.as<fuse_entry_out>().nodeid;
  s.k->release(qf, c.as<fuse_open_out>().fh);
  uint64_t priv = walk(s, "private"), star = walk(s, "star"), dir = walk(s, "dir");
  // q -> vault (would hide vault/key.txt), -> private/q, -> star/q, exchange
  // with private: all refused.
  CHECK(s.k->rename(k_root_node, "q", k_root_node, "vault").error == EACCES);
  CHECK(s.k->rename(k_root_node, "q", priv, "q").error == EACCES);
  CHECK(s.k->rename(k_root_node, "q", star, "q").error == EACCES);
  CHECK(s.k->rename(k_root_node, "q", k_root_node, "private", RENAME_EXCHANGE).error == EACCES);
  // A file onto an excluded name (replacing it), linked there, or created there.
  CHECK(s.k->rename(q, "key.txt", dir, "file").error == EACCES);
  CHECK(s.k->rename(q, "key.txt", k_root_node, "new.key").error == EACCES);
  CHECK(s.k->link(qf, dir, "file").error == EACCES);
  CHECK(s.k->link(qf, priv, "key2.txt").error == EACCES);
  CHECK(s.k->link(qf, walk(s, "a/b"), "secret.txt").error == EACCES);
  CHECK(s.k->symlink(priv, "l", "/etc/passwd").error == EACCES);
  CHECK(s.k->symlink(k_root_node, "l.key", "x").error == EACCES);
  CHECK(s.k->mkdir(priv, "x").error == EACCES);
  CHECK(s.k->mkdir(k_root_node, "node_modules").error == EACCES);
  CHECK(s.k->create(star, "n", O_WRONLY | O_CREAT).error == EACCES);
  fuse_mknod_in mk{};
  mk.mode = S_IFIFO | 0644;
  CHECK(s.k->call(FUSE_MKNOD, priv, wstest::bytes(mk) + wstest::cstr("fifo")).error == EACCES);
  CHECK(s.k->call(FUSE_UNLINK, dir, wstest::cstr("file")).error == EACCES);
  CHECK(s.k->call(FUSE_RMDIR, star, wstest::cstr("sub")).error == EACCES);
  // An empty directory carries nothing: it may take the name "vault", but
  // nothing can be created beneath it afterwards.
  REQUIRE(s.k->mkdir(k_root_node, "e").error == 0);
  CHECK(s.k->rename(k_root_node, "e", k_root_node, "vault").error == 0);
  uint64_t vault = walk(s, "vault");
  CHECK(vault != 0);
  CHECK(s.k->create(vault, "x", O_WRONLY | O_CREAT).error == EACCES);
  CHECK(s.k->rename(q, "key.txt", vault, "key.txt").error == EACCES);
  CHECK(fs::is_empty(s.root / "vault"));
  CHECK(fs::exists(s.root / "q/key.txt"));
  s.host_intact();
}

TEST_CASE("workspace exclude: a directory rename checks what is on the host beneath it, at request time") {
  Barrier s;
  // Nothing excluded beneath: renames work, even where "**/secret.txt" makes
  // the server look at every entry below (2000 files).
  for (int i = 0; i < 2000; ++i) s.put(s.root / "tree/d" / std::to_string(i % 20) / ("f" + std::to_string(i)), "x");
  REQUIRE(walk(s, "tree") != 0);
  CHECK(s.k->rename(k_root_node, "tree", k_root_node, "tree2").error == 0);
  CHECK(walk(s, "tree2/d/7/f7") != 0);
  // The host drops an excluded file in afterwards: the next rename is refused.
  s.put(s.root / "tree2/d/3/secret.txt", secret_of("tree2/d/3/secret.txt"));
  CHECK(s.k->rename(k_root_node, "tree2", k_root_node, "tree3").error == EACCES);
  CHECK(s.k->rename(walk(s, "tree2/d"), "3", k_root_node, "three").error == EACCES);
  CHECK(s.get(s.root / "tree2/d/3/secret.txt") == secret_of("tree2/d/3/secret.txt"));
  // Exchanging two directories checks both subtrees.
  REQUIRE(s.k->mkdir(k_root_node, "clean").error == 0);
  CHECK(s.k->rename(k_root_node, "clean", k_root_node, "tree2", RENAME_EXCHANGE).error == EACCES);
#if defined(MATCHLOCK_TEST_POSIX) && !defined(__APPLE__)
  // Past the barrier, the POSIX layer without renameatx_np refuses the flag itself.
  CHECK(s.k->rename(k_root_node, "clean", k_root_node, "empty", RENAME_EXCHANGE).error == EINVAL);
#else
  CHECK(s.k->rename(k_root_node, "clean", k_root_node, "empty", RENAME_EXCHANGE).error == 0);
#endif
  // A directory the server cannot read beneath is not moved blind.
  if (::geteuid() != 0) {  // root reads any mode-000 directory; the check is then about content
    fs::create_directories(s.root / "locked/inner");
    fs::permissions(s.root / "locked/inner", fs::perms::none);
    CHECK(s.k->rename(k_root_node, "locked", k_root_node, "unlocked").error == EACCES);
    fs::permissions(s.root / "locked/inner", fs::perms::owner_all);
  }
}

TEST_CASE("workspace exclude: nodeids and handles obtained before a rename") {
  Barrier s;
  // A visible file's node and an open handle, then its directory moves: the
  // node follows (paths are re-derived), and cannot be moved into the barrier.
  uint64_t pub = walk(s, "pub"), readme = walk(s, "pub/readme");
  auto o = s.k->open(readme, O_RDONLY);
  REQUIRE(o.error == 0);
  REQUIRE(s.k->rename(k_root_node, "pub", k_root_node, "pub2").error == 0);
  CHECK(s.read_all(readme).body == "visible");
  CHECK(s.k->rename(k_root_node, "pub2", walk(s, "private"), "pub2").error == EACCES);
  CHECK(s.k->rename(pub, "readme", walk(s, "dir"), "file").error == EACCES);
  s.k->release(readme, o.as<fuse_open_out>().fh);
  // A directory handle on "private" whose node the guest then forgets (a
  // hostile guest may FORGET while it holds the handle): the listing must
  // not fall back to unfiltered names.
  uint64_t priv = walk(s, "private");
  auto od = s.k->open(priv, O_RDONLY, true);
  REQUIRE(od.error == 0);
  uint64_t fh = od.as<fuse_open_out>().fh;
  s.k->forget(priv, 1000);
  for (bool plus : {false, true}) {
    auto r = s.k->read(priv, fh, 0, 4096, true, plus);
    CHECK(r.body.find("key.txt") == std::string::npos);
    CHECK(r.body.find("sub") == std::string::npos);
  }
  s.k->release(priv, fh, true);
  // An ancestor's node kept from before, then a lookup by that nodeid.
  uint64_t b = walk(s, "a/b");
  REQUIRE(b != 0);
  CHECK(s.k->node(b, "secret.txt") == 0);
  CHECK(s.k->node(walk(s, "star"), "sub") == 0);
  s.no_secret_reachable();
  s.host_intact();
}

TEST_CASE("workspace exclude: symlinks and hard links do not reach excluded content") {
  Barrier s;
  // The guest may store any link text; following it goes through the guest
  // kernel's lookups, component by component, which the barrier answers.
  int i = 0;
  for (const char* text :
       {"private/key.txt", "./private/key.txt", "pub/../private/key.txt", "/workspace/private/key.txt"}) {
    std::string name = "l" + std::to_string(i++);
    REQUIRE(s.k->symlink(k_root_node, name, text).error == 0);
    uint64_t l = s.k->node(k_root_node, name);
    CHECK(s.k->readlink(l).body == text);
    CHECK(s.read_all(l).error != 0);  // a symlink is never opened on the host
  }
  // A host symlink into the hidden area is served as text too.
  fs::create_symlink("private/key.txt", s.root / "host-link");
  fs::create_symlink(s.root / "private", s.root / "host-dirlink");
  CHECK(s.read_all(walk(s, "host-link")).error != 0);
  CHECK(s.k->node(walk(s, "host-dirlink"), "key.txt") == 0);
  // LINK never takes an excluded source: no nodeid names one (forged ids fail).
  // (A link of a visible symlink is a symlink: the server never follows it; only
  // regular files are read back here, as the host test would follow the link.)
  for (uint64_t forged = 2; forged < 200; ++forged) {
    fs::path stolen = s.root / ("stolen" + std::to_string(forged));
    if (s.k->link(forged, k_root_node, stolen.filename().string()).error == 0 &&
        fs::is_regular_file(fs::symlink_status(stolen)))
      CHECK(s.get(stolen).find("SECRET:") == std::string::npos);
  }
  // A host hard link that already exists is the user's: the visible name
  // reads the same inode (documented; the barrier is on names).
  fs::create_hard_link(s.root / "private/key.txt", s.root / "pub/alias");
  CHECK(s.read_all(walk(s, "pub/alias")).body == secret_of("private/key.txt"));
  fs::remove(s.root / "pub/alias");
  s.host_intact();
}

TEST_CASE("workspace exclude: patterns are anchored, and a trailing or leading slash and ./ are dropped") {
  workspace::ShareOptions o;
  o.exclude = {"secrets/", "/anchored", "./dotted/**", "*.key"};
  Share s(o);
  s.put(s.root / "secrets/k", "SECRET:k");
  s.put(s.root / "anchored", "SECRET:a");
  s.put(s.root / "dotted/x", "SECRET:d");
  s.put(s.root / "top.key", "SECRET:t");
  s.put(s.root / "sub/nested.key", "visible");  // "*.key" never crosses '/': use "**/*.key" for any depth
  CHECK(walk(s, "secrets") == 0);
  CHECK(walk(s, "anchored") == 0);
  CHECK(walk(s, "dotted/x") == 0);
  CHECK(walk(s, "top.key") == 0);
  CHECK(s.read_all(walk(s, "sub/nested.key")).body == "visible");
  CHECK(s.k->rename(k_root_node, "dotted", k_root_node, "d2").error == EACCES);
  // Patterns that could never match a share path are refused, not ignored.
  for (const char* bad : {"a/../b", "..", "a//b", "./", "/", "a/./b"}) {
    workspace::ShareOptions b;
    b.root = s.root;
    b.exclude = {bad};
    INFO(bad);
    CHECK(!workspace::FileServer::create(b));
  }
}
