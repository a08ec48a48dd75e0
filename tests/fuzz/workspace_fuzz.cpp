// Fuzz target: the workspace FUSE decoder and file server (workspace/): a byte stream of
// length-prefixed FUSE requests as the guest sends them, split by workspace::MessageSplitter
// and answered by a FileServer on a share rebuilt for every input (an INIT is sent first so
// every opcode is reachable). The share holds excluded content (".env", "node_modules/**"),
// a read-only file and a symlink out of it; a sibling directory plays the rest of the host.
// Input: byte 0 picks the share options (read-only, cache policy); the rest is the stream.
// Invariants: every reply is a well-formed fuse_out_header message for its request; no reply
// carries the bytes of an excluded file; nothing outside the share changes.
// Files are capped at 16 MiB (RLIMIT_FSIZE) so FALLOCATE and SETATTR cannot fill the disk
// (or, on /dev/shm, the memory).
#include <linux/fuse.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/fuzz/fuzz_support.hpp"
#include "util/temp_dir.hpp"
#include "workspace/file_server.hpp"
#include "workspace/fuse_wire.hpp"

namespace {

namespace fs = std::filesystem;

constexpr std::string_view k_secret_env = "SECRET-DOTENV-7f3a";
constexpr std::string_view k_secret_module = "SECRET-MODULE-91c2";
constexpr std::string_view k_outside = "KEEP-OUTSIDE-5d0e";

void write_file(const fs::path& p, std::string_view text) { std::ofstream(p, std::ios::binary) << text; }

// tmpfs when there is one: the share is rebuilt for every input, and disk filesystems make
// that the bulk of the time.
fs::path scratch_root() {
  std::error_code ec;
  if (fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) return "/dev/shm";
  return fs::temp_directory_path();
}

struct Host {
  util::TempDir dir = util::TempDir::create(scratch_root(), "ws-fuzz-").value();
  fs::path share = dir.path() / "share";
  fs::path outside = dir.path() / "outside";

  Host() {
    rlimit fsize{16 << 20, 16 << 20};
    FUZZ_CHECK(::setrlimit(RLIMIT_FSIZE, &fsize) == 0);
    ::signal(SIGXFSZ, SIG_IGN);  // EFBIG instead
    fs::create_directories(outside);
    write_file(outside / "keep", k_outside);
  }

  // The same share for every input: determinism, and no growth over a million runs.
  void reset() {
    std::error_code ec;
    fs::remove_all(share, ec);
    fs::create_directories(share / "src");
    fs::create_directories(share / "node_modules" / "pkg");
    fs::create_directories(share / "docs");
    write_file(share / "src" / "main.c", "int main(void) { return 0; }\n");
    write_file(share / ".env", k_secret_env);
    write_file(share / "node_modules" / "pkg" / "index.js", k_secret_module);
    write_file(share / "Matchlockfile", "[sandbox]\nimage = \"debian:12\"\n");
    fs::create_symlink("../outside", share / "out-link");
  }

  void check_outside() const {
    std::ifstream f(outside / "keep", std::ios::binary);
    std::string keep((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    FUZZ_CHECK(keep == k_outside);
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(outside)) n += e.path().filename() == "keep" ? 1 : 100;
    FUZZ_CHECK(n == 1);
    n = 0;
    for (const auto& e : fs::directory_iterator(dir.path())) n += (e.path() == share || e.path() == outside) ? 1 : 100;
    FUZZ_CHECK(n == 2);
  }
};

std::string init_message() {
  fuse_in_header h{};
  fuse_init_in in{};
  h.len = sizeof h + sizeof in;
  h.opcode = FUSE_INIT;
  h.unique = 1;
  in.major = FUSE_KERNEL_VERSION;
  in.minor = FUSE_KERNEL_MINOR_VERSION;
  in.max_readahead = 1 << 17;
  in.flags = 0xffffffffu;
  return std::string(reinterpret_cast<const char*>(&h), sizeof h) +
         std::string(reinterpret_cast<const char*>(&in), sizeof in);
}

void check_reply(const std::string& msg, const std::string& reply) {
  if (reply.empty()) return;
  fuse_out_header oh;
  fuse_in_header ih;
  FUZZ_CHECK(reply.size() >= sizeof oh);
  std::memcpy(&oh, reply.data(), sizeof oh);
  std::memcpy(&ih, msg.data(), sizeof ih);
  FUZZ_CHECK(oh.len == reply.size() && oh.unique == ih.unique && oh.error <= 0 && oh.error >= -4095);
  if (oh.error != 0) FUZZ_CHECK(reply.size() == sizeof oh);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Host host;
  fuzz::FuzzInput in(data, size);
  uint8_t options = in.u8();
  std::string_view stream = in.rest();
  host.reset();
  workspace::ShareOptions o;
  o.root = host.share;
  o.access = (options & 1) ? workspace::Access::ReadOnly : workspace::Access::ReadWrite;
  o.cache = (options & 2) ? workspace::CachePolicy::None : workspace::CachePolicy::Auto;
  o.exclude = {".env", "node_modules/**"};
  o.read_only_files = {host.share / "Matchlockfile"};
  auto server = workspace::FileServer::create(o);
  FUZZ_CHECK(server.has_value());
  (*server)->handle(init_message());
  // A guest that writes a secret's bytes itself may read them back: only check otherwise.
  bool guest_knows =
      stream.find(k_secret_env) != std::string_view::npos || stream.find(k_secret_module) != std::string_view::npos;
  workspace::MessageSplitter split;
  if (split.feed(stream, sizeof(fuse_in_header))) {
    while (auto msg = split.pop()) {
      std::string reply = (*server)->handle(*msg);
      check_reply(*msg, reply);
      if (!guest_knows)
        FUZZ_CHECK(reply.find(k_secret_env) == std::string::npos && reply.find(k_secret_module) == std::string::npos);
    }
  }
  server->reset();
  host.check_outside();
  return 0;
}
