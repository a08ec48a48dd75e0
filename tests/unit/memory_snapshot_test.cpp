// Memory snapshots (docs/ARCHITECTURE.md, "Memory snapshots"): every input of the
// key changes it (a stale snapshot is never resumed), the store publishes a
// snapshot whole or not at all, and a partial or corrupt one is refused with the
// reason (the sandbox then boots cold).
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <set>

#include "engine/config_parse.hpp"
#include "engine/memory_snapshot_key.hpp"
#include "engine/memory_snapshot_store.hpp"
#include "util/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;

engine::MemorySnapshotInputs base_inputs() {
  engine::MemorySnapshotInputs in;
  in.rootfs_sha256 = std::string(64, 'a');
  in.layers = {std::string(64, 'c')};
  in.kernel_sha256 = "sha256:k;vmlinuz:1";
  in.initramfs_sha256 = "i;1";
  in.agent_sha256 = std::string(64, 'd');
  in.arch = "amd64";
  in.machine = "microvm -cpu max";
  in.accel = "tcg";
  in.cpus = 2;
  in.memory_mib = 2048;
  in.disk_bytes = 8ull << 30;
  in.devices = "blk:ml-image(ro),ml-upper(rw),;net;ctl";
  in.qemu_version = "/usr/bin/qemu-system-x86_64 QEMU emulator version 7.2.22";
  in.firmware = "qboot.rom sha256:f";
  in.cmdline = "console=ttyS0";
  return in;
}

void write(const fs::path& p, const std::string& data) { std::ofstream(p, std::ios::binary) << data; }

void sized(const fs::path& p, uint64_t bytes) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, static_cast<off_t>(bytes)) == 0);
  ::close(fd);
}

constexpr uint64_t k_ram = 1 << 20, k_disk = 2 << 20;

// Publishes a snapshot of INPUTS in DIRS and returns its key.
std::string publish(const util::Dirs& dirs, const engine::MemorySnapshotInputs& inputs) {
  std::string key = engine::memory_snapshot_key(inputs);
  auto w = engine::MemorySnapshotWriter::create(dirs, key);
  REQUIRE(w);
  sized(w->dir() / "ram", k_ram);
  sized(w->dir() / "upper.ext4", k_disk);
  write(w->dir() / "state", "QEVM state");
  engine::MemorySnapshot meta;
  meta.inputs = engine::describe(inputs);
  fs::create_directories(dirs.config);
  write(dirs.config / "Matchlockfile", "version = 1\n");  // gc drops the snapshots of a Matchlockfile that is gone
  meta.origin = (dirs.config / "Matchlockfile").string();
  meta.ram_bytes = k_ram;
  meta.disk_bytes = k_disk;
  auto published = w->commit(meta);
  REQUIRE(published);
  return key;
}

}  // namespace

TEST_CASE("memory snapshot key: every input changes it") {
  const std::string base = engine::memory_snapshot_key(base_inputs());
  CHECK(base.size() == 64);
  CHECK(engine::memory_snapshot_key(base_inputs()) == base);  // deterministic
  using Edit = std::function<void(engine::MemorySnapshotInputs&)>;
  const std::vector<std::pair<const char*, Edit>> edits = {
      {"base rootfs digest", [](auto& i) { i.rootfs_sha256 = std::string(64, 'b'); }},
      {"a task layer more", [](auto& i) { i.layers.push_back(std::string(64, 'e')); }},
      {"no task layer", [](auto& i) { i.layers.clear(); }},
      {"kernel bundle", [](auto& i) { i.kernel_sha256 = "sha256:k2;vmlinuz:1"; }},
      {"initramfs", [](auto& i) { i.initramfs_sha256 = "i2;1"; }},
      {"agent binary", [](auto& i) { i.agent_sha256 = std::string(64, 'f'); }},
      {"architecture", [](auto& i) { i.arch = "arm64"; }},
      {"machine type", [](auto& i) { i.machine = "microvm -cpu host"; }},
      {"accelerator", [](auto& i) { i.accel = "kvm"; }},
      {"cpus", [](auto& i) { i.cpus = 1; }},
      {"memory", [](auto& i) { i.memory_mib = 4096; }},
      {"disk size", [](auto& i) { i.disk_bytes = 16ull << 30; }},
      {"device set", [](auto& i) { i.devices += ";fs:1"; }},
      {"QEMU version string",
       [](auto& i) { i.qemu_version = "/usr/bin/qemu-system-x86_64 QEMU emulator version 10.0.2"; }},
      {"firmware", [](auto& i) { i.firmware = "bios-microvm.bin sha256:0"; }},
      {"kernel command line", [](auto& i) { i.cmdline = "console=ttyS0 quiet"; }},
  };
  std::set<std::string> keys = {base};
  for (const auto& [what, edit] : edits) {
    auto in = base_inputs();
    edit(in);
    INFO(what);
    CHECK(keys.insert(engine::memory_snapshot_key(in)).second);
  }
}

TEST_CASE("memory snapshot key: values cannot be shifted between inputs") {
  // A newline inside a value cannot make two different input sets hash the same text.
  auto c = base_inputs(), d = base_inputs();
  c.machine = "microvm";
  c.accel = "-cpu max\naccel=tcg";
  d.machine = "microvm\naccel=-cpu max";
  d.accel = "tcg";
  CHECK(engine::memory_snapshot_key(c) != engine::memory_snapshot_key(d));
}

TEST_CASE("memory snapshot store: publish is atomic and finds what it published") {
  auto tmp = util::TempDir::create(fs::temp_directory_path(), "ml-snap-");
  REQUIRE(tmp);
  util::Dirs dirs{tmp->path() / "cache", tmp->path() / "state", tmp->path() / "config"};
  auto in = base_inputs();
  std::string key = engine::memory_snapshot_key(in);
  {
    auto w = engine::MemorySnapshotWriter::create(dirs, key);
    REQUIRE(w);
    sized(w->dir() / "ram", k_ram);
    // Dropped without commit: nothing is published, the temp dir is gone.
  }
  auto none = engine::find_memory_snapshot(dirs, key, engine::describe(in), k_ram, k_disk);
  REQUIRE(!none);
  CHECK(none.error().code() == util::ErrorCode::NotFound);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(engine::memory_snapshots_dir(dirs))) ++entries;
  CHECK(entries == 0);

  CHECK(publish(dirs, in) == key);
  auto found = engine::find_memory_snapshot(dirs, key, engine::describe(in), k_ram, k_disk);
  REQUIRE(found);
  CHECK(found->origin == (dirs.config / "Matchlockfile").string());
  CHECK(engine::list_memory_snapshots(dirs).size() == 1);
  // A second publish of the same key (a concurrent save) keeps the first.
  CHECK(publish(dirs, in) == key);
  CHECK(engine::list_memory_snapshots(dirs).size() == 1);
  REQUIRE(engine::remove_memory_snapshot(dirs, key));
  CHECK(!fs::exists(engine::memory_snapshots_dir(dirs) / key));
}

TEST_CASE("memory snapshot store: a partial or corrupt snapshot is refused with the reason") {
  auto tmp = util::TempDir::create(fs::temp_directory_path(), "ml-snap-");
  REQUIRE(tmp);
  util::Dirs dirs{tmp->path() / "cache", tmp->path() / "state", tmp->path() / "config"};
  auto in = base_inputs();
  const auto inputs = engine::describe(in);
  struct Case {
    const char* what;
    std::function<void(const fs::path&)> damage;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"meta.json missing (partial)", [](const fs::path& d) { fs::remove(d / "meta.json"); }, "meta.json is missing"},
      {"meta.json garbage", [](const fs::path& d) { write(d / "meta.json", "{not json"); }, "unusable"},
      {"ram missing", [](const fs::path& d) { fs::remove(d / "ram"); }, "ram is missing"},
      {"ram truncated", [](const fs::path& d) { sized(d / "ram", k_ram / 2); }, "ram has"},
      {"state empty", [](const fs::path& d) { write(d / "state", ""); }, "state is empty"},
      {"upper.ext4 missing", [](const fs::path& d) { fs::remove(d / "upper.ext4"); }, "upper.ext4 is missing"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    std::string key = publish(dirs, in);
    c.damage(engine::memory_snapshots_dir(dirs) / key);
    auto r = engine::find_memory_snapshot(dirs, key, inputs, k_ram, k_disk);
    REQUIRE(!r);
    CHECK(r.error().code() == util::ErrorCode::Integrity);
    CHECK_THAT(r.error().message(), Catch::Contains(c.reason));
    REQUIRE(engine::remove_memory_snapshot(dirs, key));
  }
  // Other inputs under the same directory name (a hand-copied or colliding dir) are refused too.
  std::string key = publish(dirs, in);
  auto other = in;
  other.qemu_version = "QEMU emulator version 10.0.2";
  auto r = engine::find_memory_snapshot(dirs, key, engine::describe(other), k_ram, k_disk);
  REQUIRE(!r);
  CHECK_THAT(r.error().message(), Catch::Contains("other inputs"));
  // Another guest RAM size than the one the VM will get.
  auto r2 = engine::find_memory_snapshot(dirs, key, inputs, k_ram * 2, k_disk);
  REQUIRE(!r2);
  CHECK_THAT(r2.error().message(), Catch::Contains("ram has"));
}

TEST_CASE("memory snapshot gc keeps the newest per origin and removes leftovers") {
  auto tmp = util::TempDir::create(fs::temp_directory_path(), "ml-snap-");
  REQUIRE(tmp);
  util::Dirs dirs{tmp->path() / "cache", tmp->path() / "state", tmp->path() / "config"};
  auto old_in = base_inputs();
  std::string old_key = publish(dirs, old_in);
  // Make the first one older.
  {
    fs::path meta = engine::memory_snapshots_dir(dirs) / old_key / "meta.json";
    std::ifstream f(meta);
    std::string text((std::istreambuf_iterator<char>(f)), {});
    auto at = text.find("\"created_unix\": ");
    REQUIRE(at != std::string::npos);
    auto end = text.find(',', at);
    text.replace(at, end - at, "\"created_unix\": 1");
    write(meta, text);
  }
  auto new_in = base_inputs();
  new_in.cpus = 4;
  std::string new_key = publish(dirs, new_in);
  fs::create_directories(engine::memory_snapshots_dir(dirs) / ".tmp-leftover");
  auto dry = engine::collect_memory_snapshots(dirs, oci::DryRun::Yes);
  REQUIRE(dry);
  CHECK(dry->removed == 2);
  CHECK(fs::exists(engine::memory_snapshots_dir(dirs) / old_key));
  auto report = engine::collect_memory_snapshots(dirs, oci::DryRun::No);
  REQUIRE(report);
  CHECK(report->removed == 2);
  CHECK(!fs::exists(engine::memory_snapshots_dir(dirs) / old_key));
  CHECK(fs::exists(engine::memory_snapshots_dir(dirs) / new_key));
  CHECK(!fs::exists(engine::memory_snapshots_dir(dirs) / ".tmp-leftover"));
}

TEST_CASE("memory snapshot gc removes the snapshots of a Matchlockfile that is gone") {
  auto tmp = util::TempDir::create(fs::temp_directory_path(), "ml-snap-");
  REQUIRE(tmp);
  util::Dirs dirs{tmp->path() / "cache", tmp->path() / "state", tmp->path() / "config"};
  std::string key = engine::memory_snapshot_key(base_inputs());
  auto w = engine::MemorySnapshotWriter::create(dirs, key);
  REQUIRE(w);
  sized(w->dir() / "ram", k_ram);
  sized(w->dir() / "upper.ext4", k_disk);
  write(w->dir() / "state", "QEVM");
  engine::MemorySnapshot meta;
  meta.inputs = engine::describe(base_inputs());
  meta.origin = (tmp->path() / "proj" / "Matchlockfile").string();  // never created
  meta.ram_bytes = k_ram;
  meta.disk_bytes = k_disk;
  REQUIRE(w->commit(meta));
  auto report = engine::collect_memory_snapshots(dirs, oci::DryRun::No);
  REQUIRE(report);
  CHECK(report->removed == 1);
  CHECK(engine::list_memory_snapshots(dirs).empty());
}

TEST_CASE("[sandbox] snapshot = false is parsed, a non-boolean is an error") {
  auto off = engine::parse_config("version = 1\n[sandbox]\nimage = \"alpine:3.20\"\nsnapshot = false\n",
                                  "Matchlockfile", "/p");
  REQUIRE(off.config);
  CHECK(!off.config->sandbox.snapshot);
  auto on = engine::parse_config("version = 1\n[sandbox]\nimage = \"alpine:3.20\"\n", "Matchlockfile", "/p");
  REQUIRE(on.config);
  CHECK(on.config->sandbox.snapshot);
  auto bad = engine::parse_config("version = 1\n[sandbox]\nimage = \"alpine:3.20\"\nsnapshot = \"no\"\n",
                                  "Matchlockfile", "/p");
  CHECK(!bad.config);
  CHECK_THAT(bad.diagnostics.format("Matchlockfile"), Catch::Contains("Matchlockfile:4:"));
}
