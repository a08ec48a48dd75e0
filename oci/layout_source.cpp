#include "oci/layout_source.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include <nlohmann/json.hpp>

#include "util/fs.hpp"
#include "util/sha256.hpp"

namespace oci {

using util::ErrorCode;
using util::make_error;

namespace {

using Json = nlohmann::json;

bool safe_relative(std::string_view p) {
  if (p.empty() || p.front() == '/') return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    auto part = p.substr(start, end - start);
    if (part == "..") return false;
    start = end + 1;
  }
  return true;
}

// Unpacks regular files and directories only; anything else is skipped.
util::Result<void> unpack(const std::filesystem::path& tar, const std::filesystem::path& dest) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_zstd(a.get());
  if (archive_read_open_filename(a.get(), tar.c_str(), 1 << 16) != ARCHIVE_OK)
    return make_error(ErrorCode::Io, "open " + tar.string() + ": " + archive_error_string(a.get()));
  archive_entry* e = nullptr;
  while (true) {
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      return make_error(ErrorCode::Integrity, tar.string() + ": " + archive_error_string(a.get()));
    std::string name = archive_entry_pathname(e);
    while (name.starts_with("./")) name.erase(0, 2);
    if (name.empty() || name == ".") continue;
    if (!safe_relative(name)) return make_error(ErrorCode::Integrity, tar.string() + ": unsafe path \"" + name + "\"");
    auto type = archive_entry_filetype(e);
    std::filesystem::path out = dest / name;
    if (type == AE_IFDIR) {
      ML_TRY(util::make_dirs(out, 0755));
      continue;
    }
    if (type != AE_IFREG) continue;
    ML_TRY(util::make_dirs(out.parent_path(), 0755));
    util::Fd fd = ML_TRY(util::open_fd(out, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644));
    char buf[1 << 16];
    while (true) {
      la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
      if (n < 0) return make_error(ErrorCode::Integrity, tar.string() + ": " + archive_error_string(a.get()));
      if (n == 0) break;
      ML_TRY(util::write_all(fd.get(), std::string_view(buf, static_cast<size_t>(n))));
    }
  }
  return util::ok();
}

util::Result<std::string> sniff_layer_type(const std::filesystem::path& file) {
  util::Fd fd = ML_TRY(util::open_fd(file, O_RDONLY));
  unsigned char magic[4] = {0};
  char* p = reinterpret_cast<char*>(magic);
  ML_TRY(util::read_some(fd.get(), std::span<char>(p, 4)));
  if (magic[0] == 0x1f && magic[1] == 0x8b) return std::string("application/vnd.docker.image.rootfs.diff.tar.gzip");
  if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
    return std::string("application/vnd.oci.image.layer.v1.tar+zstd");
  return std::string("application/vnd.docker.image.rootfs.diff.tar");
}

uint64_t size_of(const std::filesystem::path& p) {
  std::error_code ec;
  auto s = std::filesystem::file_size(p, ec);
  return ec ? 0 : s;
}

}  // namespace

util::Result<std::unique_ptr<LayoutSource>> LayoutSource::open_dir(const std::filesystem::path& dir) {
  std::unique_ptr<LayoutSource> s(new LayoutSource());
  s->m_dir = dir;
  s->m_describe = "oci-layout:" + dir.string();
  std::string marker = ML_TRY_CTX(util::read_file(dir / "oci-layout"), "not an OCI image layout");
  auto j = Json::parse(marker, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("imageLayoutVersion", "") != "1.0.0")
    return make_error(ErrorCode::Unsupported, dir.string() + "/oci-layout: unsupported imageLayoutVersion");
  return s;
}

util::Result<std::unique_ptr<LayoutSource>> LayoutSource::open_oci_archive(const std::filesystem::path& tar,
                                                                           const Store& store) {
  util::TempDir tmp = ML_TRY(util::TempDir::create(store.root(), "unpack-"));
  ML_TRY_CTX(unpack(tar, tmp.path()), "oci-archive");
  auto s = ML_TRY(open_dir(tmp.path()));
  s->m_describe = "oci-archive:" + tar.string();
  s->m_unpacked = std::move(tmp);
  return s;
}

util::Result<std::unique_ptr<LayoutSource>> LayoutSource::open_docker_archive(const std::filesystem::path& tar,
                                                                              const Store& store) {
  util::TempDir tmp = ML_TRY(util::TempDir::create(store.root(), "unpack-"));
  ML_TRY_CTX(unpack(tar, tmp.path()), "docker-archive");
  std::string text = ML_TRY_CTX(util::read_file(tmp.path() / "manifest.json"), "docker-archive " + tar.string());
  auto j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.empty() || !j[0].is_object())
    return make_error(ErrorCode::Integrity,
                      "docker-archive " + tar.string() + ": manifest.json is not a non-empty array");
  if (j.size() > 1)
    return make_error(ErrorCode::Unsupported,
                      "docker-archive " + tar.string() + ": holds several images; use one per file");
  const auto& entry = j[0];
  std::unique_ptr<LayoutSource> s(new LayoutSource());
  s->m_dir = tmp.path();
  s->m_describe = "docker-archive:" + tar.string();
  auto add = [&](const std::string& rel, const std::string& media_type) -> util::Result<Json> {
    if (!safe_relative(rel)) return make_error(ErrorCode::Integrity, "docker-archive: unsafe path \"" + rel + "\"");
    std::filesystem::path f = tmp.path() / rel;
    std::string hex = ML_TRY(util::sha256_file(f));
    std::string digest = "sha256:" + hex;
    s->m_files[digest] = f;
    return Json{{"mediaType", media_type}, {"digest", digest}, {"size", size_of(f)}};
  };
  if (!entry.contains("Config") || !entry["Config"].is_string() || !entry.contains("Layers") ||
      !entry["Layers"].is_array())
    return make_error(ErrorCode::Integrity,
                      "docker-archive " + tar.string() + ": manifest.json entry needs Config and Layers");
  Json m = {{"schemaVersion", 2}, {"mediaType", media_type::k_docker_manifest}};
  m["config"] = ML_TRY(add(entry["Config"].get<std::string>(), std::string(media_type::k_docker_config)));
  m["layers"] = Json::array();
  for (const auto& l : entry["Layers"]) {
    if (!l.is_string()) return make_error(ErrorCode::Integrity, "docker-archive: Layers must be strings");
    std::string type = ML_TRY(sniff_layer_type(tmp.path() / l.get<std::string>()));
    m["layers"].push_back(ML_TRY(add(l.get<std::string>(), type)));
  }
  s->m_synth_manifest = m.dump();
  s->m_unpacked = std::move(tmp);
  return s;
}

util::Result<std::filesystem::path> LayoutSource::blob_file(std::string_view digest) const {
  if (auto it = m_files.find(std::string(digest)); it != m_files.end()) return it->second;
  Digest d = ML_TRY(parse_sha256_digest(digest));
  std::filesystem::path p = m_dir / "blobs" / d.algorithm / d.hex;
  if (!util::path_exists(p))
    return make_error(ErrorCode::NotFound, m_describe + ": blob " + std::string(digest) + " is missing");
  return p;
}

util::Result<FetchedManifest> LayoutSource::fetch_manifest(std::string_view reference) {
  FetchedManifest m;
  if (!m_synth_manifest.empty()) {
    m.bytes = m_synth_manifest;
    m.digest = "sha256:" + util::sha256_hex(m.bytes);
    if (reference.starts_with("sha256:") && reference != m.digest) {
      if (!m_files.count(std::string(reference)))
        return make_error(ErrorCode::NotFound, m_describe + ": no manifest " + std::string(reference));
    }
    m.content_type = std::string(media_type::k_docker_manifest);
    return m;
  }
  std::string digest(reference);
  if (!reference.starts_with("sha256:") && !reference.starts_with("sha512:")) {
    std::string text = ML_TRY_CTX(util::read_file(m_dir / "index.json"), m_describe);
    auto idx = ML_TRY_CTX(parse_manifest(text, media_type::k_oci_index), m_describe + "/index.json");
    if (!idx.index) return make_error(ErrorCode::Integrity, m_describe + "/index.json is not an image index");
    const Descriptor* found = nullptr;
    std::string tags;
    for (const auto& d : idx.index->manifests) {
      auto it = d.annotations.find("org.opencontainers.image.ref.name");
      std::string name = it == d.annotations.end() ? std::string() : it->second;
      if (!name.empty()) tags += (tags.empty() ? "" : ", ") + name;
      if (!reference.empty() && (name == reference || name.ends_with(":" + std::string(reference)))) {
        found = &d;
        break;
      }
    }
    if (!found && (reference.empty() || reference == "latest") && idx.index->manifests.size() == 1)
      found = &idx.index->manifests[0];
    if (!found)
      return make_error(ErrorCode::NotFound, m_describe + ": no image tagged \"" + std::string(reference) +
                                                 "\" (tags: " + (tags.empty() ? "none" : tags) + ")");
    digest = found->digest;
  }
  auto file = ML_TRY(blob_file(digest));
  m.bytes = ML_TRY(util::read_file(file));
  m.digest = ML_TRY(verify_manifest_digest(m.bytes, digest));
  return m;
}

util::Result<void> LayoutSource::fetch_blob(const Descriptor& blob, const Store& store, ProgressSink* progress) {
  Digest d = ML_TRY(parse_sha256_digest(blob.digest));
  if (store.has_blob(d, blob.size)) {
    if (progress) progress->layer_done(blob.digest, blob.size, BlobOutcome::Cached);
    return util::ok();
  }
  auto file = ML_TRY(blob_file(blob.digest));
  util::Fd in = ML_TRY(util::open_fd(file, O_RDONLY));
  BlobWriter w = ML_TRY(store.begin_blob(d, blob.size));
  ML_TRY(w.restart());  // local copies are cheap: never trust a leftover partial
  if (progress) progress->layer_start(blob.digest, blob.size, 0);
  char buf[1 << 16];
  while (true) {
    size_t n = ML_TRY(util::read_some(in.get(), buf));
    if (n == 0) break;
    ML_TRY(w.write(std::string_view(buf, n)));
    if (progress) progress->layer_progress(blob.digest, w.offset(), blob.size);
  }
  ML_TRY(w.commit());
  if (progress) progress->layer_done(blob.digest, blob.size, BlobOutcome::Downloaded);
  return util::ok();
}

}  // namespace oci
