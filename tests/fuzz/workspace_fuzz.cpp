// Fuzz target for the workspace FUSE decoder and file server: the input is a
// byte stream as the guest would send it (length-prefixed FUSE requests),
// split by workspace::MessageSplitter and answered by a FileServer on a
// private temp share (an INIT is sent first so every opcode is reachable).
// Every reply must be a well-formed fuse_out_header message for the request.
#include <linux/fuse.h>
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

#include "util/temp_dir.hpp"
#include "workspace/file_server.hpp"
#include "workspace/fuse_wire.hpp"

namespace {

struct Share {
  util::TempDir dir = util::TempDir::create(std::filesystem::temp_directory_path(), "ws-fuzz-").value();
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
  return std::string(reinterpret_cast<const char*>(&h), sizeof h) + std::string(reinterpret_cast<const char*>(&in), sizeof in);
}

void check_reply(const std::string& msg, const std::string& reply) {
  if (reply.empty()) return;
  fuse_out_header oh;
  fuse_in_header ih;
  if (reply.size() < sizeof oh) abort();
  std::memcpy(&oh, reply.data(), sizeof oh);
  std::memcpy(&ih, msg.data(), sizeof ih);
  if (oh.len != reply.size() || oh.unique != ih.unique || oh.error > 0 || oh.error < -4095) abort();
  if (oh.error != 0 && reply.size() != sizeof oh) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Share share;
  workspace::ShareOptions o;
  o.root = share.dir.path();
  o.exclude = {".env", "**/node_modules"};
  auto server = workspace::FileServer::create(o);
  if (!server) abort();
  (*server)->handle(init_message());
  workspace::MessageSplitter split;
  if (!split.feed(std::string_view(reinterpret_cast<const char*>(data), size), sizeof(fuse_in_header))) return 0;
  while (auto msg = split.pop()) check_reply(*msg, (*server)->handle(*msg));
  return 0;
}
