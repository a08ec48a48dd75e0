// engine/guest_platform: which guest a platform boots, and where a bad one is named
// (--platform or the Matchlockfile's line:col).
#include <catch2/catch.hpp>

#include "engine/config_parse.hpp"
#include "engine/guest_platform.hpp"

namespace {

engine::Config config_with(const std::string& platform_line) {
  auto r =
      engine::parse_config("version = 1\n[sandbox]\nimage = \"alpine:3.20\"\n" + platform_line, "Matchlockfile", "/p");
  REQUIRE(r.diagnostics.empty());
  return *r.config;
}

}  // namespace

TEST_CASE("guest platform: linux/amd64 and linux/arm64 boot, every other platform is refused") {
  using backends::GuestArch;
  struct Case {
    const char* platform;
    std::optional<GuestArch> arch;
  };
  for (const Case& c : std::vector<Case>{{"linux/amd64", GuestArch::Amd64},
                                         {"amd64", GuestArch::Amd64},
                                         {"linux/x86_64", GuestArch::Amd64},
                                         {"linux/arm64", GuestArch::Arm64},
                                         {"linux/arm64/v8", GuestArch::Arm64},
                                         {"linux/aarch64", GuestArch::Arm64},
                                         {"linux/arm/v7", std::nullopt},
                                         {"linux/arm64/v9", std::nullopt},
                                         {"linux/amd64/v3", std::nullopt},
                                         {"linux/riscv64", std::nullopt},
                                         {"windows/amd64", std::nullopt},
                                         {"darwin/arm64", std::nullopt}}) {
    INFO(c.platform);
    auto p = oci::Platform::parse(c.platform);
    REQUIRE(p);
    auto arch = engine::guest_arch(*p);
    CHECK(arch.has_value() == c.arch.has_value());
    if (arch && c.arch) CHECK(*arch == *c.arch);
    if (!arch) CHECK(arch.error().message().find("linux/amd64 and linux/arm64") != std::string::npos);
  }
}

TEST_CASE("guest platform: --platform, else [sandbox].platform, else the host's") {
  auto arm = config_with("platform = \"linux/arm64\"\n");
  auto p = engine::guest_platform("", &arm);
  REQUIRE(p);
  CHECK(p->arch == backends::GuestArch::Arm64);
  CHECK(p->platform.to_string() == "linux/arm64");
  auto flag = engine::guest_platform("linux/amd64", &arm);
  REQUIRE(flag);
  CHECK(flag->arch == backends::GuestArch::Amd64);
  auto host = engine::guest_platform("", nullptr);
  REQUIRE(host);
  CHECK(host->platform == oci::Platform::host());
  CHECK(host->arch == backends::host_arch());
  auto none = config_with("");
  auto by_default = engine::guest_platform("", &none);
  REQUIRE(by_default);
  CHECK(by_default->arch == backends::host_arch());

  // A platform that cannot boot is refused when the file is read, at its line:col.
  auto bad = engine::parse_config("version = 1\n[sandbox]\nimage = \"alpine:3.20\"\nplatform = \"linux/arm/v7\"\n",
                                  "Matchlockfile", "/p");
  CHECK(bad.diagnostics.format("").find(
            ":4:12: sandbox.platform linux/arm/v7: matchlock boots linux/amd64 and linux/arm64 guests") !=
        std::string::npos);
  auto flag_bad = engine::guest_platform("linux/s390x", &arm);
  REQUIRE(!flag_bad);
  CHECK(flag_bad.error().message().find("--platform") != std::string::npos);
}
