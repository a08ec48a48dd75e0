// Fuzz target: the host's side of the host<->guest protocol: everything a hostile agent can
// make the host decode. The byte stream through FrameDecoder into Client::Impl::handle_frame
// (guest/protocol/client_impl.hpp: session replies, channel Data under the credit window, Eof,
// Credit, results, Close), then the decoders the Client runs on what it collected: the Hello,
// the boot and session answers, exec/file/stream results, and a snapshot listing
// (engine::classify_snapshot against a share on disk).
// Input: byte 0 picks the read sizes; the rest is the agent's byte stream.
// Invariants: no decoder throws; the agent never gets more bytes in than the window granted;
// a classified snapshot path stays inside the mount.
#include <sys/eventfd.h>

#include <fstream>

#include "engine/snapshot.hpp"
#include "guest/protocol/client_impl.hpp"
#include "guest/protocol/messages.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "util/temp_dir.hpp"

namespace {

// A share with a file, a directory and a symlink out of it, for the snapshot listing.
struct Share {
  util::TempDir dir = util::TempDir::create(std::filesystem::temp_directory_path(), "proto-fuzz-").value();
  Share() {
    std::filesystem::create_directories(dir.path() / "src" / "lib");
    std::ofstream(dir.path() / "src" / "main.c") << "int main;\n";
    std::filesystem::create_symlink("/etc", dir.path() / "etc-link");
  }
};

constexpr uint32_t k_exec = 1, k_file = 3, k_stream = 5, k_listing = 7;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Share share;
  fuzz::FuzzInput in(data, size);
  uint8_t step = in.u8();
  std::string_view stream = in.rest();
  static constexpr size_t k_sizes[] = {1, 12, 13, 100, 4096, 65536};

  protocol::Client::Impl impl;
  for (uint32_t id : {k_exec, k_file, k_stream, k_listing}) {
    auto ch = std::make_shared<protocol::ChannelState>();
    ch->id = id;
    ch->wake = util::Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    FUZZ_CHECK(ch->wake.valid());
    impl.channels[id] = ch;
  }
  protocol::FrameDecoder decoder;
  {
    std::lock_guard lock(impl.mu);
    bool failed = false;
    for (size_t pos = 0; pos < stream.size() && !failed;) {
      size_t n = std::min(stream.size() - pos, k_sizes[step++ % std::size(k_sizes)]);
      if (!decoder.feed(stream.substr(pos, n))) break;
      pos += n;
      while (auto f = decoder.pop()) {
        if (!impl.handle_frame(std::move(*f))) {
          failed = true;
          break;
        }
      }
    }
  }

  // What the Client's callers decode from it.
  if (impl.peer_hello) (void)protocol::decode_hello(*impl.peer_hello);
  for (const auto& j : impl.session) {
    (void)protocol::boot_reply_from_json(j);
    (void)protocol::session_reply_from_json(j, "freeze", "frozen");
  }
  for (auto& [id, ch] : impl.channels) {
    size_t inbound = 0;
    std::string out;
    for (const auto& [sid, bytes] : ch->inbound) {
      inbound += bytes.size();
      if (sid == protocol::StreamId::Out) out += bytes;
    }
    FUZZ_CHECK(inbound + ch->recv_window == protocol::k_initial_window);
    if (ch->result) {
      (void)protocol::channel_result_from_json(*ch->result);
      if (id == k_exec) {
        auto r = protocol::exec_result_from_json(*ch->result);
        if (r) FUZZ_CHECK(r->exit_code >= 0 && r->exit_code <= 255 + 64);
      }
    }
    if (id == k_listing) {
      auto changes = engine::classify_snapshot(out, share.dir.path());
      if (changes)
        for (const auto& c : *changes) {
          FUZZ_CHECK(!c.path.empty() && c.path[0] != '/');
          for (const auto& part : std::filesystem::path(c.path)) FUZZ_CHECK(part != ".." && part != ".");
        }
    }
  }
  return 0;
}
