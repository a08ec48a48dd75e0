// Fuzz target: the agent's side of the host<->guest protocol (guest/protocol): the byte
// stream from the host through FrameDecoder, then every decoder protocol::Server runs before
// it acts, in Server::handle_frame's order: the Hello, session ops (boot_from_json), Open
// requests of every kind (open_request_from_json), Data/Eof/Credit under the channel's credit
// window (ChannelLink), exec controls (exec_control_from_json). It stops at the decoded
// request: nothing is spawned, mounted or written.
// Input: byte 0 picks the read sizes; the rest is the host's byte stream.
// Invariants: no decoder throws (an escaping exception is a crash); a decoded request is in
// range (what the channel constructors rely on).
#include <map>

#include "guest/protocol/frame.hpp"
#include "guest/protocol/guest_channel.hpp"
#include "guest/protocol/messages.hpp"
#include "guest/protocol/version.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

struct Agent {
  bool hello_seen = false;
  std::string outbox;
  std::map<uint32_t, std::pair<protocol::ChannelLink, std::string>> channels;  // link, kind
};

// false: the agent would end the session (a protocol error).
bool handle(Agent& a, protocol::Frame& f) {
  using protocol::FrameType;
  if (!a.hello_seen) {
    if (f.channel != protocol::k_session_channel || f.type != FrameType::Hello) return false;
    auto h = protocol::decode_hello(f.payload);
    if (!h || h->role != protocol::Role::Host || h->version != protocol::k_version) return false;
    a.hello_seen = true;
    return true;
  }
  if (f.channel == protocol::k_session_channel) {
    if (f.type != FrameType::Control) return false;
    auto j = protocol::parse_json_object(f.payload);
    if (!j) return false;
    if (protocol::op_of(*j) == "boot") {
      auto boot = protocol::boot_from_json(*j);
      if (!boot) return false;
      for (const auto& m : boot->mounts) FUZZ_CHECK(m.target.size() >= 2 && m.target[0] == '/' && m.id <= 0xffff);
      if (boot->net.enabled) FUZZ_CHECK(boot->net.prefix >= 1 && boot->net.prefix <= 30 && boot->net.mtu >= 576);
    }
    return true;
  }
  if (f.type == FrameType::Open) {
    if (f.channel % 2 == 0 || a.channels.count(f.channel)) return false;
    auto j = protocol::parse_json_object(f.payload);
    if (!j) return false;
    auto req = protocol::open_request_from_json(*j);
    std::string kind = req ? req->kind : "";
    if (req && kind == "exec") FUZZ_CHECK(!req->exec.argv.empty());
    if (req && (kind == "put" || kind == "get")) FUZZ_CHECK(!req->path.empty() && req->path[0] == '/');
    if (req && kind == "put") FUZZ_CHECK(req->mode <= 07777);
    if (req && kind == "tcp") FUZZ_CHECK(req->port >= 1 && req->port <= 65535);
    a.channels.emplace(f.channel, std::pair{protocol::ChannelLink(f.channel, a.outbox, 1 << 20), kind});
    return true;
  }
  auto it = a.channels.find(f.channel);
  if (it == a.channels.end()) return true;  // frames racing with our Close
  auto& [link, kind] = it->second;
  switch (f.type) {
    case FrameType::Data: {
      auto d = protocol::parse_data(f);
      if (!d || !link.take_window(d->second.size())) return false;
      link.grant(static_cast<uint32_t>(d->second.size()));  // as a channel that consumed it
      return true;
    }
    case FrameType::Eof:
      return protocol::parse_eof(f).has_value();
    case FrameType::Credit: {
      auto c = protocol::parse_credit(f);
      if (!c) return false;
      link.add_credit(*c);
      FUZZ_CHECK(link.send_budget() <= protocol::k_data_chunk);
      return true;
    }
    case FrameType::Control: {
      auto j = protocol::parse_json_object(f.payload);
      if (!j) return false;
      if (kind == "exec") {
        auto c = protocol::exec_control_from_json(*j);
        if (c && c->op == "signal") FUZZ_CHECK(c->signal >= 0 && c->signal <= 64);
      }
      return true;
    }
    case FrameType::Close:
      a.channels.erase(it);
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::FuzzInput in(data, size);
  uint8_t step = in.u8();
  std::string_view stream = in.rest();
  static constexpr size_t k_sizes[] = {1, 12, 13, 100, 4096, 65536};
  protocol::FrameDecoder decoder;
  Agent agent;
  for (size_t pos = 0; pos < stream.size();) {
    size_t n = std::min(stream.size() - pos, k_sizes[step++ % std::size(k_sizes)]);
    if (!decoder.feed(stream.substr(pos, n))) return 0;
    pos += n;
    while (auto f = decoder.pop())
      if (!handle(agent, *f)) return 0;
    FUZZ_CHECK(decoder.buffered() < protocol::k_header_size + protocol::k_max_payload);
  }
  return 0;
}
