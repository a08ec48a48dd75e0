// Fuzz target: registry documents (oci/): image indexes and manifests (OCI and Docker, with
// the Content-Type the registry sent), platform selection, layer media types, image configs.
// Input: byte 0 picks the Content-Type and whether the bytes are read as a config blob; the
// rest is the document.
// Invariants: every descriptor taken has a valid digest; exactly one of index/image is set;
// a selected platform is one the index offered.
#include "oci/digest.hpp"
#include "oci/image_config.hpp"
#include "oci/manifest.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  uint8_t pick = in.u8();
  std::string_view doc = in.rest();
  static constexpr std::string_view k_types[] = {
      {},
      oci::media_type::k_oci_index,
      oci::media_type::k_oci_manifest,
      oci::media_type::k_docker_list,
      oci::media_type::k_docker_manifest,
      oci::media_type::k_docker_schema1_signed,
      "application/vnd.oci.image.manifest.v1+json; charset=utf-8",
      "text/html",
  };
  if (pick & 0x80) {
    auto config = oci::parse_image_config(doc);
    if (config) {
      for (const auto& d : config->diff_ids) (void)oci::parse_digest(d);
      (void)config->platform.to_string();
    }
    return 0;
  }
  auto m = oci::parse_manifest(doc, k_types[pick & 7]);
  if (!m) return 0;
  FUZZ_CHECK(m->index.has_value() != m->image.has_value());
  if (m->image) {
    FUZZ_CHECK(oci::is_valid_digest(m->image->config.digest));
    for (const auto& l : m->image->layers) {
      FUZZ_CHECK(oci::is_valid_digest(l.digest));
      (void)oci::layer_compression(l.media_type);
    }
  } else {
    for (const auto& d : m->index->manifests) FUZZ_CHECK(oci::is_valid_digest(d.digest));
    for (const char* want : {"linux/amd64", "linux/arm64/v8", "linux/arm/v7"}) {
      auto chosen = oci::select_platform(*m->index, oci::Platform::parse(want).value());
      if (!chosen) continue;
      bool offered = false;
      for (const auto& d : m->index->manifests) offered = offered || d.digest == chosen->digest;
      FUZZ_CHECK(offered);
    }
  }
  return 0;
}
