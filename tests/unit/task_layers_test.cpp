// Cached task layer keys and plans (docs/tasks.md): what changes a key, where the
// cacheable prefix ends, which layer a boot attaches, gc's keep rule, sparse copies.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "engine/config_parse.hpp"
#include "engine/layer_store.hpp"
#include "engine/task_layers.hpp"
#include "util/fd.hpp"
#include "util/temp_dir.hpp"

namespace {

namespace fs = std::filesystem;
const std::string k_base = std::string(64, 'b');

engine::Config parse(const fs::path& dir, const std::string& tasks) {
  auto r = engine::parse_config("version = 1\nup = [\"c\"]\n[sandbox]\nimage = \"alpine:3.20\"\n" + tasks,
                                "Matchlockfile", dir);
  INFO(r.diagnostics.format("Matchlockfile"));
  REQUIRE(r.config);
  r.config->file = dir / "Matchlockfile";
  return *r.config;
}

const char* const k_chain =
    "[tasks.a]\nrun = \"echo a\"\ncache = true\ninputs = [\"src/*.txt\"]\n"
    "[tasks.b]\nrun = \"echo b\"\ncache = true\nneeds = [\"a\"]\n"
    "[tasks.c]\nrun = \"echo c\"\nneeds = [\"b\"]\n";

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

std::string key_of(const engine::TaskKeys& keys, const std::string& task) {
  for (const auto& [t, k] : keys)
    if (t == task) return k;
  return {};
}

// Makes layer KEY look created in 2001 (older than any layer published now).
void backdate_layer(const util::Dirs& dirs, const std::string& key) {
  auto meta = engine::layers_dir(dirs) / (key + ".json");
  std::string text;
  {
    std::ifstream in(meta);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text.replace(text.find("\"created_unix\": ") + 16, 10, "1000000000");
  write(meta, text);
}

}  // namespace

TEST_CASE("task layer keys: prefix, chaining, inputs, definition") {
  auto tmp = util::TempDir::create(fs::temp_directory_path(), "ml-layers-").value();
  write(tmp.path() / "src/x.txt", "one");
  auto config = parse(tmp.path(), k_chain);
  auto keys = engine::task_layer_keys(config, k_base, {"a", "b", "c"}).value();
  // "c" has no cache = true: the cacheable prefix is a, b.
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].first == "a");
  CHECK(keys[1].first == "b");
  CHECK(keys[0].second.size() == 64);
  CHECK(engine::task_layer_keys(config, k_base, {"a", "b", "c"}).value() == keys);  // deterministic

  // An input file's content changes a's key, and through the chain b's.
  write(tmp.path() / "src/x.txt", "two");
  auto changed = engine::task_layer_keys(config, k_base, {"a", "b", "c"}).value();
  CHECK(key_of(changed, "a") != key_of(keys, "a"));
  CHECK(key_of(changed, "b") != key_of(keys, "b"));
  // A file the globs do not match changes nothing.
  write(tmp.path() / "src/y.md", "ignored");
  CHECK(engine::task_layer_keys(config, k_base, {"a", "b", "c"}).value() == changed);
  // Another base rootfs changes everything.
  CHECK(key_of(engine::task_layer_keys(config, std::string(64, 'c'), {"a", "b"}).value(), "a") != key_of(changed, "a"));
  // Changing b's run keeps a's key.
  std::string edited = k_chain;
  edited.replace(edited.find("echo b"), 6, "echo B");
  auto b_edited = engine::task_layer_keys(parse(tmp.path(), edited), k_base, {"a", "b", "c"}).value();
  CHECK(key_of(b_edited, "a") == key_of(changed, "a"));
  CHECK(key_of(b_edited, "b") != key_of(changed, "b"));
  // Editing c, after the last cached task, changes no key.
  std::string c_edited = k_chain;
  c_edited.replace(c_edited.find("echo c"), 6, "echo C");
  CHECK(engine::task_layer_keys(parse(tmp.path(), c_edited), k_base, {"a", "b", "c"}).value() == changed);
  // An uncached task before a cached one is chained into its key (its work is in the layer).
  auto after_c = engine::task_layer_keys(config, k_base, {"c", "a"}).value();
  REQUIRE(after_c.size() == 1);
  CHECK(after_c[0].first == "a");
  CHECK(after_c[0].second != key_of(changed, "a"));
  CHECK(engine::task_layer_keys(parse(tmp.path(), c_edited), k_base, {"c", "a"}).value()[0].second !=
        after_c[0].second);
  CHECK(engine::cacheable_prefix(config, {"c", "a", "b"}) == 3);
  CHECK(engine::cacheable_prefix(config, {"a", "b", "c"}) == 2);
  CHECK(engine::cacheable_prefix(config, {"c"}) == 0);
}

TEST_CASE("task layer plan: uncached tasks before a cached layer are skipped with it") {
  auto tmp = util::TempDir::create(fs::temp_directory_path(), "ml-layers-").value();
  util::Dirs dirs{tmp.path() / "cache", tmp.path() / "state", tmp.path() / "config"};
  // ca (uncached) -> deps (cached) -> after (uncached): up = ["after"].
  auto r = engine::parse_config(
      "version = 1\nup = [\"after\"]\n[sandbox]\nimage = \"alpine:3.20\"\n"
      "[tasks.ca]\nrun = \"add-ca\"\n"
      "[tasks.deps]\nrun = \"install\"\ncache = true\nneeds = [\"ca\"]\n"
      "[tasks.after]\nrun = \"start\"\nneeds = [\"deps\"]\n",
      "Matchlockfile", tmp.path());
  REQUIRE(r.config);
  r.config->file = tmp.path() / "Matchlockfile";
  const auto& config = *r.config;
  const std::vector<std::string> order{"ca", "deps", "after"};
  auto plan = engine::plan_task_layers(dirs, config, k_base, order).value();
  REQUIRE(plan.capture.size() == 1);
  CHECK(plan.capture[0].first == "deps");
  CHECK(plan.skipped.empty());
  fs::path upper = tmp.path() / "upper.ext4";
  write(upper, "disk bytes");
  REQUIRE(engine::publish_layer(dirs, upper, {plan.capture[0].second, "deps", config.file.string(), {}}));
  plan = engine::plan_task_layers(dirs, config, k_base, order).value();
  CHECK(plan.skipped == std::vector<std::string>{"ca", "deps"});  // "after" still runs
  CHECK(plan.capture.empty());
  auto states = engine::task_layer_states(dirs, config, engine::task_layer_keys(config, k_base, order).value());
  CHECK(states["deps"] == engine::LayerState::Cached);
  CHECK(states["ca"] == engine::LayerState::NotCached);
  CHECK(engine::uncacheable_tasks(config, order).empty());
}

TEST_CASE("a cache = true task that up never runs is reported with its position") {
  auto tmp = util::TempDir::create(fs::temp_directory_path(), "ml-layers-").value();
  auto config = parse(tmp.path(), std::string(k_chain) + "[tasks.lonely]\nrun = \"x\"\ncache = true\n");
  auto reasons = engine::uncacheable_tasks(config, {"a", "b", "c"});
  REQUIRE(reasons.size() == 1);
  CHECK(reasons[0].find("Matchlockfile:") != std::string::npos);
  CHECK(reasons[0].find("task lonely: cache = true, but `up` does not run it") != std::string::npos);
}

TEST_CASE("task layer plan: the deepest usable layer wins, and gc keeps the newest per task") {
  auto tmp = util::TempDir::create(fs::temp_directory_path(), "ml-layers-").value();
  util::Dirs dirs{tmp.path() / "cache", tmp.path() / "state", tmp.path() / "config"};
  auto config = parse(tmp.path(), k_chain);
  auto keys = engine::task_layer_keys(config, k_base, {"a", "b", "c"}).value();
  fs::path upper = tmp.path() / "upper.ext4";
  write(upper, "disk bytes");

  auto plan = engine::plan_task_layers(dirs, config, k_base, {"a", "b", "c"}).value();
  CHECK(plan.attach.empty());
  CHECK(plan.capture == keys);

  // a captured on a fresh boot; b captured on a boot that attached a.
  REQUIRE(engine::publish_layer(dirs, upper, {keys[0].second, "a", config.file.string(), {}}));
  plan = engine::plan_task_layers(dirs, config, k_base, {"a", "b", "c"}).value();
  CHECK(plan.attach == std::vector<std::string>{keys[0].second});
  CHECK(plan.skipped == std::vector<std::string>{"a"});
  REQUIRE(plan.capture.size() == 1);
  REQUIRE(engine::publish_layer(dirs, upper, {keys[1].second, "b", config.file.string(), {keys[0].second}}));
  plan = engine::plan_task_layers(dirs, config, k_base, {"a", "b", "c"}).value();
  CHECK(plan.attach == std::vector<std::string>{keys[1].second, keys[0].second});
  CHECK(plan.skipped == std::vector<std::string>{"a", "b"});
  CHECK(plan.capture.empty());
  auto states = engine::task_layer_states(dirs, config, keys);
  CHECK(states["a"] == engine::LayerState::Cached);
  CHECK(states["c"] == engine::LayerState::NotCached);

  // b's lower is gone: b's layer is unusable, a's still is.
  fs::remove(engine::layer_disk_path(dirs, keys[0].second));
  plan = engine::plan_task_layers(dirs, config, k_base, {"a", "b", "c"}).value();
  CHECK(plan.attach.empty());

  // gc: an older layer of the same task goes; the newest and the ones it stands on stay.
  REQUIRE(engine::publish_layer(dirs, upper, {keys[0].second, "a", config.file.string(), {}}));
  std::string old_b(64, 'e');
  REQUIRE(engine::publish_layer(dirs, upper, {old_b, "b", config.file.string(), {}}));
  backdate_layer(dirs, old_b);  // older than b's current layer
  auto report = engine::collect_layers(dirs, oci::DryRun::No).value();
  CHECK(report.removed == 1);
  CHECK(!fs::exists(engine::layer_disk_path(dirs, old_b)));
  CHECK(fs::exists(engine::layer_disk_path(dirs, keys[1].second)));
  CHECK(fs::exists(engine::layer_disk_path(dirs, keys[0].second)));
}

TEST_CASE("gc waits while an up holds the layers lock between choosing and recording its layers") {
  auto tmp = util::TempDir::create(fs::temp_directory_path(), "ml-layers-").value();
  util::Dirs dirs{tmp.path() / "cache", tmp.path() / "state", tmp.path() / "config"};
  auto config = parse(tmp.path(), k_chain);
  fs::path upper = tmp.path() / "upper.ext4";
  write(upper, "disk bytes");
  // An outdated layer of task a: gc removes it once it may.
  std::string old_a(64, 'd');
  REQUIRE(engine::publish_layer(dirs, upper, {old_a, "a", config.file.string(), {}}));
  REQUIRE(engine::publish_layer(dirs, upper, {std::string(64, 'f'), "a", config.file.string(), {}}));
  backdate_layer(dirs, old_a);

  auto held = engine::lock_layers(dirs, oci::LockMode::Shared);  // an `up` choosing its layers
  REQUIRE(held);
  std::atomic<bool> done{false};
  bool ok = false;
  std::thread gc([&] {  // no Catch assertions off the main thread
    ok = engine::collect_layers(dirs, oci::DryRun::No).has_value();
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(done.load());                                 // gc waits...
  CHECK(fs::exists(engine::layer_disk_path(dirs, old_a)));  // ...and has removed nothing
  *held = oci::FileLock();                                  // the record is written: release
  gc.join();
  CHECK(ok);
  CHECK_FALSE(fs::exists(engine::layer_disk_path(dirs, old_a)));
}

TEST_CASE("copy_sparse keeps holes and data") {
  auto tmp = util::TempDir::create(fs::temp_directory_path(), "ml-sparse-").value();
  auto src_path = tmp.path() / "src", dst_path = tmp.path() / "dst";
  {
    util::Fd src = util::open_fd(src_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600).value();
    REQUIRE(::ftruncate(src.get(), 64 << 20) == 0);
    REQUIRE(::pwrite(src.get(), "head", 4, 0) == 4);
    REQUIRE(::pwrite(src.get(), "middle", 6, 32 << 20) == 6);
  }
  util::Fd src = util::open_fd(src_path, O_RDONLY | O_CLOEXEC).value();
  util::Fd dst = util::open_fd(dst_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600).value();
  REQUIRE(engine::copy_sparse(src.get(), dst.get()));
  struct stat st {};
  REQUIRE(::fstat(dst.get(), &st) == 0);
  CHECK(st.st_size == 64 << 20);
  CHECK(st.st_blocks * 512 < (4 << 20));  // holes stayed holes
  char buf[6] = {};
  REQUIRE(::pread(dst.get(), buf, 6, 32 << 20) == 6);
  CHECK(std::string(buf, 6) == "middle");
}
