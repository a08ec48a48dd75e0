// Fuzz target: Matchlockfile.lock (engine/lockfile), which arrives with a repository.
// Input: the file's text.
// Invariants: what parses writes back (to_toml) as a file that parses to the same Lockfile
// (so `matchlock lock` never writes a lock it cannot read), and every string in it is plain
// text (no control bytes: they would reach terminals and error messages).
#include "engine/lockfile.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

void check_text(const std::string& s) {
  for (unsigned char c : s) FUZZ_CHECK(c >= 0x20 && c != 0x7f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto lock = engine::Lockfile::parse(text, "Matchlockfile.lock");
  if (!lock) return 0;
  for (const auto& i : lock->images)
    for (const auto* s :
         {&i.reference, &i.platform, &i.index_digest, &i.manifest_digest, &i.config_digest, &i.rootfs_sha256})
      check_text(*s);
  if (lock->kernel) {
    check_text(lock->kernel->reference);
    check_text(lock->kernel->bundle);
  }
  std::string written = lock->to_toml();
  auto again = engine::Lockfile::parse(written, "Matchlockfile.lock");
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(again->version == lock->version && again->images == lock->images && again->kernel == lock->kernel);
  return 0;
}
