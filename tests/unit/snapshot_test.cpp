// engine/snapshot.hpp classify_snapshot: the guest's upper-dir listing against
// a real share in a temp dir (whiteouts, opaque dirs, new vs existing, unsafe paths).
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>

#include "engine/snapshot.hpp"
#include "util/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << data;
}

std::vector<std::string> letters(const std::vector<engine::SnapshotChange>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) out.push_back(std::string(1, engine::change_letter(c.kind)) + " " + c.path);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("classify_snapshot: A/M/D from whiteouts, opaque dirs and the share") {
  auto tmp = util::TempDir::create("/tmp", "ml-snap-test-").value();
  fs::path share = tmp.path();
  write(share / "mod.txt", "x");
  write(share / "del.txt", "x");
  write(share / "dir/keep.txt", "x");
  write(share / "re/old1.txt", "x");
  write(share / "re/old2.txt", "x");
  write(share / "re/same.txt", "x");
  std::string lines = R"({"path":"del.txt","type":"whiteout","mode":0})"
                      "\n"
                      R"({"path":"dir","type":"dir","mode":493})"
                      "\n"
                      R"({"path":"dir/new.txt","type":"file","mode":420})"
                      "\n"
                      R"({"path":"ghost","type":"whiteout","mode":0})"
                      "\n"  // nothing in the share: not a change
                      R"({"path":"link","type":"symlink","mode":511,"target":"mod.txt"})"
                      "\n"
                      R"({"path":"mod.txt","type":"file","mode":420})"
                      "\n"
                      R"({"path":"newdir","type":"dir","mode":493})"
                      "\n"
                      R"({"path":"newdir/f","type":"file","mode":420})"
                      "\n"
                      R"({"path":"re","type":"dir","mode":493,"opaque":true})"
                      "\n"
                      R"({"path":"re/same.txt","type":"file","mode":420})"
                      "\n";
  auto changes = engine::classify_snapshot(lines, share);
  REQUIRE(changes);
  CHECK(letters(*changes) == std::vector<std::string>{"A dir/new.txt", "A link", "A newdir", "A newdir/f", "D del.txt",
                                                      "D re/old1.txt", "D re/old2.txt", "M mod.txt", "M re/same.txt"});
  for (const auto& c : *changes)
    if (c.path == "link") CHECK(c.link_target == "mod.txt");
}

TEST_CASE("classify_snapshot: unsafe paths from the guest are refused") {
  auto tmp = util::TempDir::create("/tmp", "ml-snap-test-").value();
  for (const char* bad : {"../x", "/etc/passwd", "a//b", "a/./b", "a/..", ""}) {
    std::string line = std::string(R"({"path":")") + bad + R"(","type":"file","mode":420})" + "\n";
    CHECK_FALSE(engine::classify_snapshot(line, tmp.path()));
  }
  CHECK_FALSE(engine::classify_snapshot("not json\n", tmp.path()));
}

// Found by tests/fuzz/protocol_host_fuzz.cpp: json::value() threw on a wrong type, and a float
// mode out of range was converted with undefined behaviour. Guest-written listings are checked.
TEST_CASE("classify_snapshot: wrong JSON types from the guest are errors, not exceptions") {
  auto tmp = util::TempDir::create("/tmp", "ml-snap-test-").value();
  for (const char* line : {R"({"path":5,"type":"file"})", R"({"path":"a","type":["file"]})",
                           R"({"path":"a","type":"file","mode":1e300})", R"({"path":"a","type":"file","mode":-1})",
                           R"({"path":"a","type":"file","mode":"644"})", R"({"path":"a","type":"dir","opaque":"yes"})",
                           R"({"path":"a","type":"symlink","target":7})", "[1,2]", "\"text\""}) {
    INFO(line);
    auto r = engine::classify_snapshot(std::string(line) + "\n", tmp.path());
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == util::ErrorCode::Guest);
  }
  auto ok = engine::classify_snapshot(R"({"path":"a","type":"file","mode":420,"opaque":null})"
                                      "\n",
                                      tmp.path());
  REQUIRE(ok);
  CHECK(ok->size() == 1);
}
