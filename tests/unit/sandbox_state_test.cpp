// engine/sandbox_state: the state enum, sandbox.json round trip, effective_state.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "engine/sandbox_state.hpp"
#include "util/atomic_file.hpp"
#include "util/temp_dir.hpp"

using engine::SandboxState;

TEST_CASE("sandbox state: names round-trip, unknown names are refused") {
  for (auto s : {SandboxState::Starting, SandboxState::Running, SandboxState::Stopping, SandboxState::Stopped,
                 SandboxState::Dead}) {
    INFO(engine::to_string(s));
    CHECK(engine::parse_sandbox_state(engine::to_string(s)) == s);
  }
  CHECK_FALSE(engine::parse_sandbox_state(""));
  CHECK_FALSE(engine::parse_sandbox_state("Running"));
  CHECK(engine::is_live(SandboxState::Stopping));
  CHECK_FALSE(engine::is_live(SandboxState::Dead));
}

TEST_CASE("sandbox state: sandbox.json keeps the state; a bad one names the file and field") {
  auto dir = util::TempDir::create(std::filesystem::temp_directory_path(), "ml-state-");
  REQUIRE(dir);
  engine::SandboxPaths paths{dir->path()};
  engine::SandboxRecord r;
  r.name = "s";
  r.state = SandboxState::Stopping;
  REQUIRE(engine::write_record(paths, r));
  auto back = engine::read_record(paths);
  REQUIRE(back);
  CHECK(back->state == SandboxState::Stopping);
  // No live supervisor (pid 0): a live state reads as dead; a stopped one stays stopped.
  CHECK(engine::effective_state(*back) == SandboxState::Dead);
  back->state = SandboxState::Stopped;
  CHECK(engine::effective_state(*back) == SandboxState::Stopped);

  REQUIRE(util::write_file_atomic(paths.record(), R"({"name":"s","state":"frozen"})", 0600));
  auto bad = engine::read_record(paths);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message(), Catch::Contains("sandbox.json: state"));
}
