// sandbox.backend resolved against the host (engine/backend_choice.hpp): auto picks vz on
// macOS and qemu elsewhere; a backend this host cannot run is a validation error at its
// line:col, never a silent fallback.
#include <catch2/catch.hpp>

#include "engine/backend_choice.hpp"
#include "engine/config_parse.hpp"

namespace {

std::string errors(const std::string& text) {
  return engine::parse_config(text, "Matchlockfile", "/home/u/proj").diagnostics.format("Matchlockfile");
}

}  // namespace

TEST_CASE("backend: auto is the host's VMM") {
#ifdef __APPLE__
  CHECK(engine::host_default_vmm() == engine::Vmm::Vz);
#else
  CHECK(engine::host_default_vmm() == engine::Vmm::Qemu);
#endif
  auto vmm = engine::resolve_backend(engine::Backend::Auto);
  REQUIRE(vmm);
  CHECK(*vmm == engine::host_default_vmm());
  CHECK(std::string(engine::to_string(engine::Vmm::Vz)) == "vz");
}

#ifndef __APPLE__
TEST_CASE("backend: vz off macOS is an error naming file:line:col and the field") {
  auto r = engine::resolve_backend(engine::Backend::Vz);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("sandbox.backend \"vz\" needs macOS"));
  std::string e = errors("version = 1\n[sandbox]\nimage = \"alpine\"\nbackend = \"vz\"\n");
  CHECK(e ==
        "Matchlockfile:4:11: sandbox.backend \"vz\" needs macOS: Virtualization.framework exists only there, and "
        "this build is for another host: use \"auto\" or \"qemu\"\n");
  CHECK(errors("version = 1\n[sandbox]\nimage = \"alpine\"\nbackend = \"qemu\"\n").empty());
  auto q = engine::resolve_backend(engine::Backend::Qemu);
  REQUIRE(q);
  CHECK(*q == engine::Vmm::Qemu);
}
#else
TEST_CASE("backend: qemu on macOS is an error naming file:line:col and the field") {
  std::string e = errors("version = 1\n[sandbox]\nimage = \"alpine\"\nbackend = \"qemu\"\n");
  CHECK_THAT(e, Catch::Contains("Matchlockfile:4:11: sandbox.backend \"qemu\" is not supported on macOS"));
  CHECK(errors("version = 1\n[sandbox]\nimage = \"alpine\"\nbackend = \"vz\"\n").empty());
}
#endif

TEST_CASE("backend: firecracker and gvisor are refused everywhere") {
  for (auto b : {engine::Backend::Firecracker, engine::Backend::Gvisor}) {
    auto r = engine::resolve_backend(b);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("is not implemented in this build"));
  }
}
