// Matchlockfile.lock: round trip, sorting, errors with file:line:col, frozen checks.
#include <catch2/catch.hpp>

#include "engine/lockfile.hpp"

TEST_CASE("lockfile round trip, sorted and upserted") {
  engine::Lockfile lock;
  lock.upsert({"r.io/b:1", "linux/amd64", "", "sha256:m2", "sha256:c2", "sha256:f2"});
  lock.upsert({"r.io/a:1", "linux/arm64", "sha256:i", "sha256:m1", "sha256:c1", "sha256:f1"});
  lock.upsert({"r.io/a:1", "linux/arm64", "sha256:i", "sha256:m3", "sha256:c3", "sha256:f3"});
  REQUIRE(lock.images.size() == 2);
  CHECK(lock.images[0].reference == "r.io/a:1");
  CHECK(lock.images[0].manifest_digest == "sha256:m3");
  std::string text = lock.to_toml();
  auto back = engine::Lockfile::parse(text, "Matchlockfile.lock");
  REQUIRE(back);
  CHECK(back->images == lock.images);
  CHECK(back->to_toml() == text);
  lock.retain_reference("r.io/b:1");
  CHECK(lock.images.size() == 1);
}

TEST_CASE("lockfile errors name the position") {
  auto v = engine::Lockfile::parse("version = 2\n", "L");
  REQUIRE(!v);
  CHECK(v.error().message().starts_with("L:1:"));
  auto missing = engine::Lockfile::parse("version = 1\n[[image]]\nreference = \"x\"\n", "L");
  REQUIRE(!missing);
  CHECK(missing.error().message().find("platform") != std::string::npos);
  auto syntax = engine::Lockfile::parse("version = \n", "L");
  REQUIRE(!syntax);
  CHECK(syntax.error().code() == util::ErrorCode::Config);
}

TEST_CASE("frozen: missing lock or entry is ErrorCode::Frozen") {
  auto none = engine::frozen_entry(std::nullopt, "/p/Matchlockfile.lock", "r/a:1", "linux/amd64");
  REQUIRE(!none);
  CHECK(none.error().code() == util::ErrorCode::Frozen);
  engine::Lockfile lock;
  lock.upsert({"r/a:1", "linux/amd64", "", "sha256:m", "", ""});
  CHECK(engine::frozen_entry(lock, "L", "r/a:1", "linux/amd64"));
  auto other = engine::frozen_entry(lock, "L", "r/a:2", "linux/amd64");
  REQUIRE(!other);
  CHECK(other.error().code() == util::ErrorCode::Frozen);
  CHECK(!engine::frozen_entry(lock, "L", "r/a:1", "linux/arm64"));
}

TEST_CASE("lockfile [kernel]: round trip, absent by default, malformed refused") {
  engine::Lockfile lock;
  lock.upsert({"r.io/a:1", "linux/amd64", "", "sha256:m", "sha256:c", "sha256:f"});
  CHECK(lock.to_toml().find("[kernel]") == std::string::npos);  // default kernel: no entry
  lock.kernel = engine::LockedKernel{"r.io/kernel@sha256:abc", "sha256:bundle"};
  std::string text = lock.to_toml();
  auto back = engine::Lockfile::parse(text, "L");
  REQUIRE(back);
  REQUIRE(back->kernel);
  CHECK(*back->kernel == *lock.kernel);
  CHECK(back->to_toml() == text);
  auto bad = engine::Lockfile::parse("version = 1\n[kernel]\nreference = \"x\"\n", "L");
  REQUIRE(!bad);
  CHECK(bad.error().message().find("bundle") != std::string::npos);
}

// Found by tests/fuzz/lockfile_fuzz.cpp (corpus seeds float_version, control_char).
TEST_CASE("lockfile: a float version is refused, not converted (1e300 would be undefined behaviour)") {
  for (const char* text :
       {"version = 1e300\n", "version = 1.0\n", "version = -1e19\n", "version = nan\n", "version = \"1\"\n"}) {
    auto lock = engine::Lockfile::parse(text, "L");
    REQUIRE_FALSE(lock);
    CHECK(lock.error().message().find("L:1:") == 0);
  }
}

TEST_CASE("lockfile: strings holding control characters are refused (a lock is plain text)") {
  std::string image =
      "version = 1\n[[image]]\nreference = \"r/a:1\"\nplatform = \"linux/amd64\"\nmanifest = \"sha256:m\"\n";
  CHECK(engine::Lockfile::parse(image, "L"));
  for (std::string bad : {"\\u0000", "\\u001b[2J", "\\n", "\\u007f", "\\t"}) {
    std::string text = image;
    text.replace(text.find("linux/amd64"), 11, "linux/amd64" + bad);
    auto lock = engine::Lockfile::parse(text, "L");
    REQUIRE_FALSE(lock);
    CHECK(lock.error().message().find("control character") != std::string::npos);
  }
  auto kernel = engine::Lockfile::parse("version = 1\n[kernel]\nreference = \"a\\u0007\"\nbundle = \"b\"\n", "L");
  REQUIRE_FALSE(kernel);
  // What parses writes back to what parses the same (quotes and backslashes escaped).
  std::string quoted = image;
  quoted.replace(quoted.find("r/a:1"), 5, "r/a\\\"b\\\\c");
  auto lock = engine::Lockfile::parse(quoted, "L");
  REQUIRE(lock);
  auto again = engine::Lockfile::parse(lock->to_toml(), "L");
  REQUIRE(again);
  CHECK(again->images == lock->images);
}
