// Offline sources: an OCI image-layout directory (oci-layout:DIR[:tag|@digest]),
// an OCI layout in a tar (oci-archive:FILE) and `docker save` output
// (docker-archive:FILE). Archives are unpacked (regular files only, paths
// checked) into a temp dir under the cache, removed when the source dies.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "oci/source.hpp"
#include "util/temp_dir.hpp"

namespace oci {

class LayoutSource final : public Source {
 public:
  static util::Result<std::unique_ptr<LayoutSource>> open_dir(const std::filesystem::path& dir);
  static util::Result<std::unique_ptr<LayoutSource>> open_oci_archive(const std::filesystem::path& tar,
                                                                      const Store& store);
  static util::Result<std::unique_ptr<LayoutSource>> open_docker_archive(const std::filesystem::path& tar,
                                                                         const Store& store);

  // A tag selects the index.json entry whose org.opencontainers.image.ref.name
  // is the tag; an empty tag selects the only entry.
  util::Result<FetchedManifest> fetch_manifest(std::string_view reference) override;
  util::Result<void> fetch_blob(const Descriptor& blob, const Store& store, ProgressSink* progress) override;
  std::string describe() const override { return m_describe; }

 private:
  LayoutSource() = default;
  util::Result<std::filesystem::path> blob_file(std::string_view digest) const;

  std::filesystem::path m_dir;
  std::string m_describe;
  util::TempDir m_unpacked;
  // docker-archive: the synthesized manifest and digest -> file.
  std::string m_synth_manifest;
  std::map<std::string, std::filesystem::path> m_files;
};

}  // namespace oci
