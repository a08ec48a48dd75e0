#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/sha256.hpp"
#include "util/temp_dir.hpp"
#include "util/terminal_text.hpp"

namespace {

util::Result<int> parse_positive(int v) {
  if (v <= 0) return util::make_error(util::ErrorCode::Usage, "not positive");
  return v;
}

util::Result<int> doubled(int v) {
  int x = ML_TRY_CTX(parse_positive(v), "doubling " + std::to_string(v));
  return x * 2;
}

}  // namespace

TEST_CASE("ML_TRY propagates errors with context") {
  REQUIRE(doubled(4).value() == 8);
  auto r = doubled(-1);
  REQUIRE_FALSE(r);
  CHECK(r.error().message() == "doubling -1: not positive");
  CHECK(r.error().code() == util::ErrorCode::Usage);
}

TEST_CASE("sha256 of known vectors") {
  CHECK(util::sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(util::sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  util::Sha256 h;
  h.update("a");
  h.update("bc");
  CHECK(h.hex_digest() == util::sha256_hex("abc"));
}

TEST_CASE("AtomicFile publishes only on commit") {
  auto dir = util::TempDir::create("/tmp", "ml-test-").value();
  auto target = dir.path() / "out";
  {
    auto f = util::AtomicFile::create(target).value();
    REQUIRE(f.write("half"));
    CHECK_FALSE(util::path_exists(target));
  }
  CHECK_FALSE(util::path_exists(target));
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 0);
  REQUIRE(util::write_file_atomic(target, "whole"));
  CHECK(util::read_file(target).value() == "whole");
}

TEST_CASE("TempDir removes its tree") {
  std::filesystem::path p;
  {
    auto dir = util::TempDir::create("/tmp", "ml-test-").value();
    p = dir.path();
    REQUIRE(util::make_dirs(p / "a" / "b"));
    REQUIRE(util::write_file_atomic(p / "a" / "b" / "f", "x"));
  }
  CHECK_FALSE(util::path_exists(p));
}

TEST_CASE("run_command captures output, input and status") {
  auto r = util::run_command({"sh", "-c", "cat; echo err >&2; exit 3"}, "hello");
  REQUIRE(r);
  CHECK(r->out == "hello");
  CHECK(r->err == "err\n");
  CHECK(r->status.code == 3);
  auto missing = util::run_command({"/nonexistent/program"});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message().find("/nonexistent/program") != std::string::npos);
}

TEST_CASE("Child is killed and reaped when its owner goes away") {
  pid_t pid;
  {
    util::SpawnOptions o;
    o.argv = {"sleep", "100"};
    auto child = util::Child::spawn(o).value();
    pid = child.pid();
    CHECK(::kill(pid, 0) == 0);
  }
  CHECK(::kill(pid, 0) == -1);
  CHECK(errno == ESRCH);
}

TEST_CASE("signal status maps to 128+N") {
  auto r = util::run_command({"sh", "-c", "kill -TERM $$"});
  REQUIRE(r);
  CHECK(r->status.signal == SIGTERM);
  CHECK(r->status.shell_code() == 128 + SIGTERM);
}

TEST_CASE("terminal text: controls, C1, bidi overrides and bad UTF-8 escaped, UTF-8 text kept") {
  using util::terminal_text;
  CHECK(terminal_text("plain name.test:443") == "plain name.test:443");
  CHECK(terminal_text("a\nb\rc\td\x1b[2Je\x07") == "a\\nb\\rc\\td\\e[2Je\\x07");
  CHECK(terminal_text("back\\slash") == "back\\\\slash");
  CHECK(terminal_text(std::string("nul\0x", 5)) == "nul\\x00x");
  CHECK(terminal_text("del\x7f") == "del\\x7f");
  CHECK(terminal_text("caf\xc3\xa9 \xe2\x94\x80") == "caf\xc3\xa9 \xe2\x94\x80");  // é, box drawing
  CHECK(terminal_text("c1\xc2\x9b"
                      "31m") == "c1\\u{009b}31m");  // CSI as U+009B
  CHECK(terminal_text("rlo\xe2\x80\xae"
                      "txt") == "rlo\\u{202e}txt");  // Trojan Source
  CHECK(terminal_text("bad\xff\xc3") == "bad\\xff\\xc3");
  CHECK(terminal_text("over\xc0\xaf") == "over\\xc0\\xaf");  // overlong '/'
  CHECK(terminal_text("l1\nl2\tx\r", util::Newlines::Keep) == "l1\nl2\tx\\r");
  util::TerminalTextStream stream(util::Newlines::Keep);
  std::string out = stream.feed("caf\xc3");  // é split between two reads
  out += stream.feed("\xa9\x1b");
  out += stream.finish();
  CHECK(out == "caf\xc3\xa9\\e");
  util::TerminalTextStream cut(util::Newlines::Escape);
  std::string held = cut.feed("x\xe2\x94");  // (two statements: operand order is unspecified)
  held += cut.finish();
  CHECK(held == "x\\xe2\\x94");
}
