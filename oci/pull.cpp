#include "oci/pull.hpp"

#include <ctime>

#include "oci/image_records.hpp"
#include "oci/layout_source.hpp"
#include "oci/local_resolve.hpp"
#include "oci/registry_client.hpp"
#include "oci/registry_schemes.hpp"
#include "oci/store.hpp"
#include "util/log.hpp"

namespace oci {

using util::ErrorCode;
using util::make_error;

namespace {

bool is_local_host(std::string_view registry) {
  std::string_view host = registry;
  if (host.starts_with("["))
    host = host.substr(1, host.find(']') - 1);
  else
    host = host.substr(0, host.rfind(':') == std::string_view::npos ? host.size() : host.rfind(':'));
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

util::Result<std::unique_ptr<Source>> open_registry(const std::string& host, const std::string& repository,
                                                    const RegistrySettings& settings, const Store& store) {
  return std::unique_ptr<Source>(ML_TRY(connect_registry(host, repository, settings, store)));
}

util::Result<std::unique_ptr<Source>> open_mirror(const std::string& mirror, const Reference& ref,
                                                  const RegistrySettings& settings, const Store& store) {
  if (mirror.starts_with("oci-layout:")) {
    auto s = ML_TRY(LayoutSource::open_dir(mirror.substr(11)));
    return std::unique_ptr<Source>(std::move(s));
  }
  std::string host = mirror;
  if (auto p = host.find("://"); p != std::string::npos) host = host.substr(p + 3);
  while (!host.empty() && host.back() == '/') host.pop_back();
  return open_registry(host, ref.repository, settings, store);
}

struct Opened {
  std::unique_ptr<Source> source;
  FetchedManifest top;
};

// Tries each mirror, then the origin; the first that serves the manifest wins.
util::Result<Opened> open_and_resolve(const Reference& ref, const std::string& want, const PullOptions& options,
                                      const Store& store) {
  auto fetch = [&](util::Result<std::unique_ptr<Source>> s) -> util::Result<Opened> {
    if (!s) return std::move(s).error();
    auto m = (*s)->fetch_manifest(want);
    if (!m) return std::move(m).error().context((*s)->describe());
    return Opened{std::move(*s), std::move(*m)};
  };
  switch (ref.kind) {
    case ReferenceKind::OciLayout:
      return fetch([&]() -> util::Result<std::unique_ptr<Source>> {
        return std::unique_ptr<Source>(ML_TRY(LayoutSource::open_dir(ref.path)));
      }());
    case ReferenceKind::OciArchive:
      return fetch([&]() -> util::Result<std::unique_ptr<Source>> {
        return std::unique_ptr<Source>(ML_TRY(LayoutSource::open_oci_archive(ref.path, store)));
      }());
    case ReferenceKind::DockerArchive:
      return fetch([&]() -> util::Result<std::unique_ptr<Source>> {
        return std::unique_ptr<Source>(ML_TRY(LayoutSource::open_docker_archive(ref.path, store)));
      }());
    case ReferenceKind::Registry:
      break;
  }
  if (const RegistryHost* h = options.settings.find(ref.registry)) {
    for (const auto& mirror : h->mirrors) {
      auto r = fetch(open_mirror(mirror, ref, options.settings, store));
      if (r) return r;
      util::log::warn("mirror " + mirror + " failed, trying the next source: " + r.error().message());
    }
  }
  return fetch(open_registry(ref.registry, ref.repository, options.settings, store));
}

util::Result<Manifest> store_manifest(const Store& store, const FetchedManifest& m) {
  auto parsed = ML_TRY_CTX(parse_manifest(m.bytes, m.content_type), "manifest " + m.digest);
  Digest d = ML_TRY(parse_sha256_digest(m.digest));
  ML_TRY(store.put_blob(d, m.bytes));
  return parsed;
}

// The record naming IMG under REFNAME: its sources, digests and every blob it
// keeps alive (index, manifest, config, layers), stamped now. Size is the caller's.
ImageRecord image_record(const std::string& refname, const PullOptions& options, const PulledImage& img) {
  ImageRecord rec;
  rec.reference = refname;
  rec.platform = options.platform.to_string();
  rec.source = img.source;
  rec.index_digest = img.index_digest;
  rec.manifest_digest = img.manifest_digest;
  rec.config_digest = img.config_digest;
  if (!img.index_digest.empty()) rec.blobs.push_back(img.index_digest);
  rec.blobs.push_back(img.manifest_digest);
  rec.blobs.push_back(img.config_digest);
  for (const auto& l : img.layers) rec.blobs.push_back(l.digest);
  rec.pulled_at = static_cast<int64_t>(std::time(nullptr));
  return rec;
}

// A complete image found in the store: report it like a pull whose blobs
// were all cached, and record the reference if no record names it yet.
util::Result<PulledImage> finish_local(const Store& store, PulledImage img, const PullOptions& options) {
  std::string refname = img.reference.to_string();
  if (ProgressSink* p = options.progress) {
    p->resolved(refname, img.manifest_digest);
    for (const auto& l : img.layers) p->layer_done(l.digest, l.size, BlobOutcome::Cached);
    p->finished(refname, img.manifest_digest);
  }
  if (!find_image_record(store, refname, options.platform.to_string())) {
    ImageRecord rec = image_record(refname, options, img);
    // The same size a pull records: config + layers.
    if (auto cd = parse_sha256_digest(img.config_digest)) {
      std::error_code ec;
      auto n = std::filesystem::file_size(store.blob_path(*cd), ec);
      if (!ec) rec.size += n;
    }
    for (const auto& l : img.layers) rec.size += l.size;
    ML_TRY(write_image_record(store, rec));
  }
  return img;
}

}  // namespace

util::Result<std::unique_ptr<RegistryClient>> connect_registry(const std::string& host, const std::string& repository,
                                                               const RegistrySettings& settings, const Store& store) {
  const RegistryHost* h = settings.find(host);
  AllowHttp http = (is_local_host(host) || (h && h->insecure)) ? AllowHttp::Yes : AllowHttp::No;
  auto creds = ML_TRY_CTX(lookup_docker_credentials(host), "credentials for " + host);
  std::string first = http == AllowHttp::Yes ? remembered_scheme(store.root(), host) : std::string();
  auto c = ML_TRY(RegistryClient::connect(host, repository, http, std::move(creds), first));
  if (http == AllowHttp::Yes) remember_scheme(store.root(), host, c->scheme());
  return c;
}

util::Result<PulledImage> pull_image(const util::Dirs& dirs, const Reference& ref, const PullOptions& options) {
  Store store = ML_TRY(Store::open(dirs));
  FileLock store_lock = ML_TRY(store.lock_store(LockMode::Shared));
  ProgressSink* progress = options.progress;
  std::string refname = ref.to_string();

  if (ref.kind == ReferenceKind::Registry) {
    TagLookup tags = options.policy == PullPolicy::Always ? TagLookup::Skip : TagLookup::Record;
    auto local = ML_TRY(resolve_local(store, ref, options.expected_manifest_digest, options.platform, tags));
    if (local) return finish_local(store, std::move(*local), options);
    if (options.policy == PullPolicy::Never)
      return make_error(ErrorCode::NotFound, refname + " is not in the local store (--pull=never)");
  }

  std::string want = !options.expected_manifest_digest.empty()                ? options.expected_manifest_digest
                     : !ref.digest.empty()                                    ? ref.digest
                     : ref.kind == ReferenceKind::Registry && ref.tag.empty() ? std::string("latest")
                                                                              : ref.tag;
  Opened opened = ML_TRY(open_and_resolve(ref, want, options, store));
  Source& source = *opened.source;

  PulledImage img;
  img.reference = ref;
  img.source = source.describe();
  Manifest top = ML_TRY(store_manifest(store, opened.top));
  std::string manifest_digest = opened.top.digest;
  ImageManifest im;
  if (top.index) {
    img.index_digest = opened.top.digest;
    Descriptor chosen = ML_TRY_CTX(select_platform(*top.index, options.platform), refname);
    FetchedManifest child = ML_TRY_CTX(source.fetch_manifest(chosen.digest), source.describe());
    if (child.bytes.size() != chosen.size)
      return make_error(ErrorCode::Integrity, "manifest " + chosen.digest + ": size " +
                                                  std::to_string(child.bytes.size()) + " does not match the index (" +
                                                  std::to_string(chosen.size) + ")");
    Manifest m = ML_TRY(store_manifest(store, child));
    if (!m.image)
      return make_error(ErrorCode::Unsupported, "manifest " + chosen.digest + ": nested index is not supported");
    im = std::move(*m.image);
    manifest_digest = child.digest;
  } else {
    im = std::move(*top.image);
  }
  if (!options.expected_manifest_digest.empty() && manifest_digest != options.expected_manifest_digest)
    return make_error(ErrorCode::Frozen, refname + " resolves to " + manifest_digest + ", but the lock pins " +
                                             options.expected_manifest_digest);
  img.manifest_digest = manifest_digest;
  img.config_digest = im.config.digest;
  if (progress) progress->resolved(refname, manifest_digest);

  for (const auto& l : im.layers) ML_TRY_CTX(layer_compression(l.media_type), "layer " + l.digest);

  {
    Digest cd = ML_TRY(parse_sha256_digest(im.config.digest));
    FileLock bl = ML_TRY(store.lock_blob(cd));
    ML_TRY_CTX(source.fetch_blob(im.config, store, nullptr), "config " + im.config.digest);
    std::string text = ML_TRY(store.read_blob(cd));
    img.config = ML_TRY_CTX(parse_image_config(text), "config " + im.config.digest);
  }
  if (!top.index && !img.config.platform.architecture.empty() && !options.platform.matches(img.config.platform))
    return make_error(ErrorCode::Unsupported, refname + " is a " + img.config.platform.to_string() + " image, not " +
                                                  options.platform.to_string() + " (use --platform)");
  if (!img.config.diff_ids.empty() && img.config.diff_ids.size() != im.layers.size())
    return make_error(ErrorCode::Integrity, "config " + im.config.digest + " lists " +
                                                std::to_string(img.config.diff_ids.size()) + " diff_ids for " +
                                                std::to_string(im.layers.size()) + " layers");

  uint64_t total = im.config.size;
  for (const auto& l : im.layers) {
    Digest d = ML_TRY(parse_sha256_digest(l.digest));
    FileLock bl = ML_TRY(store.lock_blob(d));  // a concurrent pull of the same blob waits here, then finds it
    ML_TRY(source.fetch_blob(l, store, progress));
    img.layers.push_back(Layer{l.media_type, l.digest, l.size, store.blob_path(d)});
    total += l.size;
  }

  ImageRecord rec = image_record(refname, options, img);
  rec.size = total;
  ML_TRY(write_image_record(store, rec));
  if (progress) progress->finished(refname, manifest_digest);
  return img;
}

}  // namespace oci
