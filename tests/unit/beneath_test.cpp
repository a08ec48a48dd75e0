// util::open_beneath against the escapes a hostile guest would try, for every resolver: built
// into workspace_tests (Linux: openat2, and the walk it falls back to) and
// workspace_posix_tests (the POSIX component walk macOS runs). Every case must hold for both.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "util/beneath.hpp"
#include "util/fd.hpp"
#include "util/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& s) { std::ofstream(p) << s; }

std::string read_fd(int fd) {
  char buf[64];
  ssize_t n = ::read(fd, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

// share/ (the root) next to outside/ (what an escape would reach).
struct Tree {
  util::TempDir tmp = util::TempDir::create(fs::temp_directory_path(), "beneath-test-").value();
  fs::path share = tmp.path() / "share";
  fs::path outside = tmp.path() / "outside";
  util::Fd root;
  Tree() {
    fs::create_directories(share / "dir/sub");
    fs::create_directories(outside);
    write(share / "dir/file", "inside");
    write(share / "dir/sub/file", "inside");
    write(outside / "file", "outside");
    root = util::open_dir_ref(share.string()).value();
  }
};

int err(const util::Result<util::Fd>& r) { return r ? 0 : r.error().sys_errno(); }

const util::Resolver k_resolvers[] = {util::Resolver::Auto, util::Resolver::ComponentWalk};

}  // namespace

TEST_CASE("beneath: plain paths open, and every refusal has its errno") {
  Tree t;
  for (auto how : k_resolvers) {
    auto fd = util::open_beneath(t.root.get(), "dir/sub/file", O_RDONLY, 0, how);
    REQUIRE(fd);
    CHECK(read_fd(fd->get()) == "inside");
    CHECK(err(util::open_beneath(t.root.get(), "", O_RDONLY | O_DIRECTORY, 0, how)) == 0);
    CHECK(err(util::open_beneath(t.root.get(), "nope/file", O_RDONLY, 0, how)) == ENOENT);
    CHECK(err(util::open_beneath(t.root.get(), "dir/file/x", O_RDONLY, 0, how)) == ENOTDIR);
  }
}

TEST_CASE("beneath: a symlink in a middle component is refused, absolute or relative") {
  Tree t;
  fs::create_symlink(t.outside, t.share / "abs");
  fs::create_symlink("dir", t.share / "rel");
  fs::create_symlink("../outside", t.share / "dir/up");
  for (auto how : k_resolvers) {
    CHECK(err(util::open_beneath(t.root.get(), "abs/file", O_RDONLY, 0, how)) == ELOOP);
    CHECK(err(util::open_beneath(t.root.get(), "rel/file", O_RDONLY, 0, how)) == ELOOP);
    CHECK(err(util::open_beneath(t.root.get(), "dir/up/file", O_RDONLY, 0, how)) == ELOOP);
    // Opened as a directory, a final symlink is "not a directory" (O_DIRECTORY|O_NOFOLLOW).
    CHECK(err(util::open_dir_beneath(t.root.get(), "abs")) == ENOTDIR);
    CHECK(err(util::open_dir_beneath(t.root.get(), "abs/x")) == ELOOP);
  }
}

TEST_CASE("beneath: a symlink as the last component is refused, even to create through it") {
  Tree t;
  fs::create_symlink(t.outside / "file", t.share / "abs");
  fs::create_symlink(t.outside / "planted", t.share / "dangling");
  for (auto how : k_resolvers) {
    CHECK(err(util::open_beneath(t.root.get(), "abs", O_RDONLY, 0, how)) == ELOOP);
    CHECK(err(util::open_beneath(t.root.get(), "abs", O_WRONLY | O_TRUNC, 0, how)) == ELOOP);
    CHECK(err(util::open_beneath(t.root.get(), "dangling", O_WRONLY | O_CREAT, 0644, how)) == ELOOP);
    CHECK(!fs::exists(t.outside / "planted"));
  }
  std::ifstream in(t.outside / "file");
  std::string s;
  in >> s;
  CHECK(s == "outside");
}

TEST_CASE("beneath: '..', absolute paths, empty and '.' components are refused before any lookup") {
  Tree t;
  for (auto how : k_resolvers) {
    for (const char* bad : {"..", "../outside/file", "dir/..", "dir/../dir/file", "dir/sub/../../../outside/file",
                            "/etc/passwd", "dir/", "dir//file", "./dir/file", "dir/./file", "dir/."}) {
      INFO(bad);
      CHECK(err(util::open_beneath(t.root.get(), bad, O_RDONLY, 0, how)) == EINVAL);
    }
  }
}

TEST_CASE("beneath: a NUL inside the path is refused, never truncated") {
  Tree t;
  std::string with_nul("dir/file\0/../../outside/file", 28);
  std::string nul_only("dir\0", 4);
  for (auto how : k_resolvers) {
    CHECK(err(util::open_beneath(t.root.get(), with_nul, O_RDONLY, 0, how)) == EINVAL);
    CHECK(err(util::open_beneath(t.root.get(), nul_only, O_RDONLY, 0, how)) == EINVAL);
  }
}

TEST_CASE("beneath: over-long components and paths are refused with ENAMETOOLONG") {
  Tree t;
  std::string long_name(NAME_MAX + 1, 'a');
  std::string long_path;
  while (long_path.size() < PATH_MAX) long_path += "dir/";
  long_path += "file";
  for (auto how : k_resolvers) {
    CHECK(err(util::open_beneath(t.root.get(), long_name, O_RDONLY, 0, how)) == ENAMETOOLONG);
    CHECK(err(util::open_beneath(t.root.get(), "dir/" + long_name + "/file", O_RDONLY, 0, how)) == ENAMETOOLONG);
    CHECK(err(util::open_beneath(t.root.get(), long_path, O_RDONLY, 0, how)) == ENAMETOOLONG);
  }
}

TEST_CASE("beneath: a directory swapped for a symlink while paths resolve never leads out") {
  // TOCTOU: a second thread flips share/flip between a real directory and a symlink to
  // outside/ as fast as it can; every resolution either finds the inside file or fails.
  Tree t;
  fs::create_directories(t.share / "real");
  write(t.share / "real/file", "inside");
  fs::create_symlink(t.outside, t.share / "evil");
  fs::rename(t.share / "real", t.share / "flip");
  for (auto how : k_resolvers) {
    std::atomic<bool> stop{false};
    std::thread flipper([&] {
      while (!stop) {
        ::renameat(AT_FDCWD, (t.share / "flip").c_str(), AT_FDCWD, (t.share / "real").c_str());
        ::renameat(AT_FDCWD, (t.share / "evil").c_str(), AT_FDCWD, (t.share / "flip").c_str());
        ::renameat(AT_FDCWD, (t.share / "flip").c_str(), AT_FDCWD, (t.share / "evil").c_str());
        ::renameat(AT_FDCWD, (t.share / "real").c_str(), AT_FDCWD, (t.share / "flip").c_str());
      }
    });
    int inside = 0, escaped = 0;
    for (int i = 0; i < 20000; ++i) {
      auto fd = util::open_beneath(t.root.get(), "flip/file", O_RDONLY, 0, how);
      if (!fd) continue;
      std::string s = read_fd(fd->get());
      if (s == "inside") ++inside;
      if (s == "outside") ++escaped;
    }
    stop = true;
    flipper.join();
    CHECK(escaped == 0);
    CHECK(inside > 0);
    ::renameat(AT_FDCWD, (t.share / "real").c_str(), AT_FDCWD, (t.share / "flip").c_str());
  }
}
