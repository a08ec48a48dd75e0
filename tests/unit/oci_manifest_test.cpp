// Manifest, platform and image-config parsing against real registry documents
// (tests/fixtures/oci, provenance in SOURCES.md).
#include <catch2/catch.hpp>

#include "oci/image_config.hpp"
#include "oci/manifest.hpp"
#include "util/fs.hpp"

namespace {

std::string fixture(const std::string& name) {
  auto r = util::read_file(std::string(MATCHLOCK_FIXTURES) + "/oci/" + name);
  REQUIRE(r);
  return *r;
}

oci::Platform plat(std::string_view s) {
  auto p = oci::Platform::parse(s);
  REQUIRE(p);
  return *p;
}

}  // namespace

TEST_CASE("docker manifest list: platform selection (containers/image list_test expectations)") {
  auto m = oci::parse_manifest(fixture("docker-manifest-list.schema2list.json"));
  REQUIRE(m);
  REQUIRE(m->index);
  auto amd = oci::select_platform(*m->index, plat("linux/amd64"));
  REQUIRE(amd);
  CHECK(amd->digest.starts_with("sha256:030fcb92"));
  auto arm64 = oci::select_platform(*m->index, plat("linux/arm64"));
  REQUIRE(arm64);
  CHECK(arm64->digest.starts_with("sha256:dc472a59"));
  auto none = oci::select_platform(*m->index, plat("linux/riscv64"));
  REQUIRE(!none);
  CHECK(none.error().code() == util::ErrorCode::NotFound);
  CHECK(none.error().message().find("offered: linux/amd64") != std::string::npos);
}

TEST_CASE("OCI index with attestations: unknown/unknown entries are never chosen") {
  auto m = oci::parse_manifest(fixture("image_index.json"));
  REQUIRE(m);
  REQUIRE(m->index);
  CHECK(m->index->manifests.size() == 16);
  auto amd = oci::select_platform(*m->index, plat("linux/amd64"));
  REQUIRE(amd);
  REQUIRE(amd->platform);
  CHECK(amd->platform->architecture == "amd64");
  auto armv6 = oci::select_platform(*m->index, plat("linux/arm/v6"));
  REQUIRE(armv6);
  CHECK(armv6->platform->variant == "v6");
  auto unknown = oci::select_platform(*m->index, oci::Platform{"unknown", "unknown", ""});
  CHECK(!unknown);
}

TEST_CASE("zstd variant listed twice: the first (gzip) entry wins") {
  auto m = oci::parse_manifest(fixture("oci-index.zstd-variants.json"));
  REQUIRE(m);
  REQUIRE(m->index);
  auto d = oci::select_platform(*m->index, plat("linux/amd64"));
  REQUIRE(d);
  CHECK(d->annotations.count("io.github.containers.compression.zstd") == 0);
}

TEST_CASE("schema1 is rejected with a clear message") {
  for (auto name : {"docker-schema1-signed.v2s1.manifest.json", "docker-schema1-unsigned.v2s1.manifest.json"}) {
    auto m = oci::parse_manifest(fixture(name));
    REQUIRE(!m);
    CHECK(m.error().code() == util::ErrorCode::Unsupported);
    CHECK(m.error().message().find("schema1") != std::string::npos);
  }
  auto list = oci::parse_manifest(fixture("docker-manifest-list.v2list-of-schema1.json"));
  REQUIRE(list);
  auto d = oci::select_platform(*list->index, plat("linux/amd64"));
  REQUIRE(!d);
  CHECK(d.error().message().find("schema1") != std::string::npos);
}

TEST_CASE("artifacts are refused as images") {
  for (auto name : {"image-spec.artifact-minimal.json", "oci-manifest.custom-config-artifact.json",
                    "oci-manifest.artifact-null-layers.json"}) {
    auto m = oci::parse_manifest(fixture(name));
    REQUIRE(!m);
    CHECK(m.error().code() == util::ErrorCode::Unsupported);
    CHECK(m.error().message().find("artifact") != std::string::npos);
  }
}

TEST_CASE("garbage and unknown schema versions are refused") {
  auto junk = oci::parse_manifest(fixture("negative.non-json.manifest.json"));
  REQUIRE(!junk);
  CHECK(junk.error().code() == util::ErrorCode::Integrity);
  auto v = oci::parse_manifest(fixture("negative.unknown-schemaVersion.json"));
  REQUIRE(!v);
  CHECK(v.error().message().find("schemaVersion") != std::string::npos);
}

TEST_CASE("Docker schema2 and OCI manifests: config and layers") {
  auto m = oci::parse_manifest(fixture("registry.alpine-amd64.docker-schema2.json"));
  REQUIRE(m);
  REQUIRE(m->image);
  CHECK(m->image->media_type == oci::media_type::k_docker_manifest);
  REQUIRE(m->image->layers.size() == 1);
  CHECK(oci::layer_compression(m->image->layers[0].media_type).value() == oci::Compression::Gzip);

  auto z = oci::parse_manifest(fixture("oci-manifest.zstd-layers.json"));
  REQUIRE(z);
  for (const auto& l : z->image->layers) CHECK(oci::layer_compression(l.media_type).value() == oci::Compression::Zstd);
  auto u = oci::parse_manifest(fixture("oci-manifest.uncompressed-layers.json"));
  REQUIRE(u);
  for (const auto& l : u->image->layers) CHECK(oci::layer_compression(l.media_type).value() == oci::Compression::None);
}

TEST_CASE("foreign and non-distributable layers are refused by name") {
  for (auto name : {"docker-schema2.foreign-layer.json", "oci-manifest.nondistributable.json"}) {
    auto m = oci::parse_manifest(fixture(name));
    REQUIRE(m);
    bool refused = false;
    for (const auto& l : m->image->layers) {
      auto c = oci::layer_compression(l.media_type);
      if (!c) {
        refused = true;
        CHECK(c.error().message().find(l.media_type) != std::string::npos);
      }
    }
    CHECK(refused);
  }
}

TEST_CASE("image config: httpd (null Entrypoint/Volumes, ExposedPorts)") {
  auto c = oci::parse_image_config(fixture("docker-config.httpd.json"));
  REQUIRE(c);
  CHECK(c->entrypoint.empty());
  CHECK(c->cmd == std::vector<std::string>{"httpd-foreground"});
  CHECK(c->exposed_ports == std::vector<std::string>{"80/tcp"});
  CHECK(c->working_dir == "/usr/local/apache2");
  CHECK(c->platform.architecture == "amd64");
  CHECK(c->diff_ids.size() == 5);
  bool has_path = false;
  for (const auto& e : c->env) has_path = has_path || e.starts_with("PATH=");
  CHECK(has_path);
}

TEST_CASE("image config: image-spec example (User, Volumes, Labels)") {
  auto c = oci::parse_image_config(fixture("image-spec.config-example.json"));
  REQUIRE(c);
  CHECK(c->user == "alice");
  CHECK(c->entrypoint == std::vector<std::string>{"/bin/my-app-binary"});
  CHECK(c->volumes == std::vector<std::string>{"/var/job-result-data", "/var/log/my-app-logs"});
  CHECK(c->exposed_ports == std::vector<std::string>{"8080/tcp"});
  CHECK(c->labels.at("com.example.project.git.commit") == "45a939b2999782a3f005621a8d0f29aa387e1d6b");
  CHECK(c->cmd.size() == 3);
  CHECK(!oci::parse_image_config("[1,2]"));
}

TEST_CASE("platform parsing") {
  CHECK(plat("linux/arm64/v8").to_string() == "linux/arm64/v8");
  CHECK(plat("amd64").to_string() == "linux/amd64");
  CHECK(plat("linux/x86_64").architecture == "amd64");
  CHECK(!oci::Platform::parse("linux//v7"));
  CHECK(!oci::Platform::parse("a/b/c/d"));
  CHECK(!oci::Platform::parse(""));
  CHECK(plat("linux/arm64/v8").matches(oci::Platform{"linux", "arm64", ""}));
  CHECK(plat("linux/arm").matches(oci::Platform{"linux", "arm", "v7"}));
  CHECK(!plat("linux/arm/v7").matches(oci::Platform{"linux", "arm", "v6"}));
}
