// oci::parse_reference against the docker/distribution reference grammar and
// its normalisation (ParseNormalizedNamed).
#include <catch2/catch.hpp>

#include "oci/reference.hpp"

namespace {
const std::string k_digest = "sha256:" + std::string(64, 'a');
}

TEST_CASE("references normalise like Docker") {
  struct Case {
    std::string in, canonical, registry, repository, tag, digest;
  };
  const Case cases[] = {
      {"alpine", "docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest", ""},
      {"alpine:3.20", "docker.io/library/alpine:3.20", "docker.io", "library/alpine", "3.20", ""},
      {"docker.io/alpine", "docker.io/library/alpine:latest", "docker.io", "library/alpine", "latest", ""},
      {"index.docker.io/library/alpine:3", "docker.io/library/alpine:3", "docker.io", "library/alpine", "3", ""},
      {"user/app", "docker.io/user/app:latest", "docker.io", "user/app", "latest", ""},
      {"localhost/app", "localhost/app:latest", "localhost", "app", "latest", ""},
      {"localhost:5000/a/b:t", "localhost:5000/a/b:t", "localhost:5000", "a/b", "t", ""},
      {"127.0.0.1:5000/matchlock/debian:bookworm", "127.0.0.1:5000/matchlock/debian:bookworm", "127.0.0.1:5000",
       "matchlock/debian", "bookworm", ""},
      {"[::1]:5000/a/b:t", "[::1]:5000/a/b:t", "[::1]:5000", "a/b", "t", ""},
      {"[2001:db8::2]/app@" + k_digest, "[2001:db8::2]/app@" + k_digest, "[2001:db8::2]", "app", "", k_digest},
      {"ghcr.io/o/r@" + k_digest, "ghcr.io/o/r@" + k_digest, "ghcr.io", "o/r", "", k_digest},
      {"quay.io/a/b:v1@" + k_digest, "quay.io/a/b:v1@" + k_digest, "quay.io", "a/b", "v1", k_digest},
      {"my-registry.EXAMPLE.com/x__y/z.w---v:Tag_1.0-rc", "my-registry.EXAMPLE.com/x__y/z.w---v:Tag_1.0-rc",
       "my-registry.EXAMPLE.com", "x__y/z.w---v", "Tag_1.0-rc", ""},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    auto r = oci::parse_reference(c.in);
    REQUIRE(r);
    CHECK(r->kind == oci::ReferenceKind::Registry);
    CHECK(r->to_string() == c.canonical);
    CHECK(r->registry == c.registry);
    CHECK(r->repository == c.repository);
    CHECK(r->tag == c.tag);
    CHECK(r->digest == c.digest);
    CHECK(oci::parse_reference(r->to_string()).value() == *r);  // round trip
  }
}

TEST_CASE("offline transports") {
  auto l = oci::parse_reference("oci-layout:./img:v2");
  REQUIRE(l);
  CHECK(l->kind == oci::ReferenceKind::OciLayout);
  CHECK(l->path == "./img");
  CHECK(l->tag == "v2");
  auto d = oci::parse_reference("oci-layout:/abs/img@" + k_digest);
  REQUIRE(d);
  CHECK(d->path == "/abs/img");
  CHECK(d->digest == k_digest);
  auto a = oci::parse_reference("docker-archive:img.tar");
  REQUIRE(a);
  CHECK(a->kind == oci::ReferenceKind::DockerArchive);
  CHECK(a->to_string() == "docker-archive:img.tar");
  CHECK(oci::parse_reference("oci-archive:x.tar")->kind == oci::ReferenceKind::OciArchive);
}

TEST_CASE("invalid references say why") {
  struct Case {
    std::string in, why;
  };
  const Case cases[] = {
      {"", "empty"},
      {"Alpine", "repository name must be lowercase"},
      {"alpine:", "invalid tag \"\""},
      {"alpine:-x", "invalid tag \"-x\""},
      {"alpine:" + std::string(129, 'a'), "invalid tag"},
      {"alpine@sha256:abc", "expected 64 lowercase hex digits"},
      {"a b", "whitespace"},
      {"-a/b", "invalid repository component \"-a\""},
      {"a//b", "invalid repository component \"\""},
      {"host_x.com:5000/a", "invalid registry"},
      {"example.com:abc/a", "invalid registry"},
      {"[::1/a", "invalid registry"},
      {"[::g]:5000/a", "invalid registry"},
      {"[::1]:/a", "invalid registry"},
      {"[::1]x/a", "invalid registry"},
      {"[127.0.0.1]/a", "invalid registry"},
      {std::string(64, 'e'), "image ID"},
      {"oci-layout:", "needs a directory"},
      {"docker-archive:", "needs a file"},
      {"a/" + std::string(255, 'b'), "longer than 255"},
  };
  for (const auto& c : cases) {
    INFO(c.in);
    auto r = oci::parse_reference(c.in);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains(c.why));
  }
}
