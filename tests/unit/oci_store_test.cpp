// Content store: verified publish, resume of .partial files, gc by records.
#include <catch2/catch.hpp>

#include "oci/image_records.hpp"
#include "oci/store.hpp"
#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"
#include "util/temp_dir.hpp"

namespace {

struct Fixture {
  util::TempDir tmp = util::TempDir::create("/tmp", "ml-store-test-").value();
  util::Dirs dirs{tmp.path() / "cache", tmp.path() / "state", tmp.path() / "config"};
  oci::Store store = oci::Store::open(dirs).value();
};

oci::Digest digest_of(std::string_view data) { return oci::Digest{"sha256", util::sha256_hex(data)}; }

size_t count_files(const std::filesystem::path& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("put_blob publishes only content with the right digest") {
  Fixture f;
  auto d = digest_of("hello");
  REQUIRE(f.store.put_blob(d, "hello"));
  CHECK(f.store.has_blob(d, 5));
  CHECK(f.store.read_blob(d).value() == "hello");
  auto bad = f.store.put_blob(digest_of("other"), "hello");
  REQUIRE(!bad);
  CHECK(bad.error().code() == util::ErrorCode::Integrity);
  CHECK(bad.error().message().find(digest_of("other").to_string()) != std::string::npos);
  CHECK(count_files(f.store.blobs_dir()) == 1);
}

TEST_CASE("BlobWriter resumes a partial download and verifies the whole") {
  Fixture f;
  std::string data(200000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = char('a' + i % 26);
  auto d = digest_of(data);
  {
    auto w = f.store.begin_blob(d, data.size());
    REQUIRE(w);
    REQUIRE(w->write(std::string_view(data).substr(0, 70000)));
    // dropped without commit: like a killed process, the .partial stays
  }
  CHECK(!f.store.has_blob(d, data.size()));
  auto w = f.store.begin_blob(d, data.size());
  REQUIRE(w);
  CHECK(w->offset() == 70000);
  REQUIRE(w->write(std::string_view(data).substr(70000)));
  auto p = w->commit();
  REQUIRE(p);
  CHECK(f.store.has_blob(d, data.size()));
  CHECK(util::sha256_file(*p).value() == d.hex);
  CHECK(count_files(f.store.blobs_dir()) == 1);  // no .partial left
}

TEST_CASE("BlobWriter: wrong content is never published and the partial is removed") {
  Fixture f;
  auto d = digest_of("expected");
  auto w = f.store.begin_blob(d, 8);
  REQUIRE(w);
  REQUIRE(w->write("tampered"));
  auto r = w->commit();
  REQUIRE(!r);
  CHECK(r.error().message().find(d.to_string()) != std::string::npos);
  CHECK(count_files(f.store.blobs_dir()) == 0);
  auto w2 = f.store.begin_blob(d, 8);
  REQUIRE(w2);
  auto over = w2->write("123456789");
  REQUIRE(!over);
  CHECK(over.error().message().find("declared size") != std::string::npos);
  CHECK(count_files(f.store.blobs_dir()) == 0);
}

TEST_CASE("only sha256 content is accepted") {
  auto r = oci::parse_sha256_digest("sha512:" + std::string(128, 'a'));
  REQUIRE(!r);
  CHECK(r.error().code() == util::ErrorCode::Unsupported);
}

TEST_CASE("gc keeps what image records reference and reports reclaimed bytes") {
  Fixture f;
  auto keep = digest_of("keep-me");
  auto drop = digest_of("drop-me!");
  REQUIRE(f.store.put_blob(keep, "keep-me"));
  REQUIRE(f.store.put_blob(drop, "drop-me!"));
  REQUIRE(util::write_file_atomic(f.store.rootfs_dir() / (keep.hex + ".ext4"), "fs"));
  REQUIRE(util::write_file_atomic(f.store.rootfs_dir() / (drop.hex + ".ext4"), "old-fs"));
  REQUIRE(util::make_dirs(f.dirs.cache / "kernels"));
  REQUIRE(util::write_file_atomic(f.dirs.cache / "kernels" / "vmlinuz", "k"));
  oci::ImageRecord rec;
  rec.reference = "example.com/a:latest";
  rec.platform = "linux/amd64";
  rec.manifest_digest = keep.to_string();
  rec.blobs = {keep.to_string()};
  REQUIRE(oci::write_image_record(f.store, rec));

  auto dry = oci::collect_garbage(f.store, oci::DryRun::Yes);
  REQUIRE(dry);
  CHECK(dry->blobs_removed == 1);
  CHECK(f.store.has_blob(drop, 8));

  auto r = oci::collect_garbage(f.store, oci::DryRun::No);
  REQUIRE(r);
  CHECK(r->blobs_removed == 1);
  CHECK(r->rootfs_removed == 1);
  CHECK(r->bytes_reclaimed == 8 + 6);
  CHECK(f.store.has_blob(keep, 7));
  CHECK(!f.store.has_blob(drop, 8));
  CHECK(util::path_exists(f.store.rootfs_dir() / (keep.hex + ".ext4")));
  CHECK(util::path_exists(f.dirs.cache / "kernels" / "vmlinuz"));

  auto removed = oci::remove_image_records(f.store, "example.com/a:latest");
  REQUIRE(removed);
  CHECK(removed->size() == 1);
  auto r2 = oci::collect_garbage(f.store, oci::DryRun::No);
  REQUIRE(r2);
  CHECK(r2->blobs_removed == 1);
  CHECK(count_files(f.store.blobs_dir()) == 0);
}
