// protocol wire level: frame codec, JSON messages, user database parsing, and
// both ends facing a broken or hostile peer (garbage, floods, credit overruns,
// disconnects, version mismatch).
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "engine/version.hpp"
#include "guest/protocol/frame.hpp"
#include "guest/protocol/messages.hpp"
#include "guest/protocol/users.hpp"
#include "guest/protocol/version.hpp"
#include "protocol_harness.hpp"

using namespace std::chrono_literals;
using protocol::ExecRequest;

namespace {

ExecRequest sh(const std::string& script) {
  ExecRequest r;
  r.argv = {"sh", "-c", script};
  return r;
}

}  // namespace

TEST_CASE("frames round-trip through the decoder fed byte by byte") {
  std::string wire = protocol::encode_frame(0, protocol::FrameType::Hello, "{\"version\":1}") +
                     protocol::encode_data(7, protocol::StreamId::Err, std::string("\0\xff", 2)) +
                     protocol::encode_credit(7, 4096) + protocol::encode_eof(9, protocol::StreamId::Out);
  protocol::FrameDecoder d;
  for (char c : wire) REQUIRE(d.feed(std::string_view(&c, 1)));
  auto f1 = d.pop(), f2 = d.pop(), f3 = d.pop(), f4 = d.pop();
  REQUIRE((f1 && f2 && f3 && f4));
  REQUIRE_FALSE(d.pop());
  CHECK(f1->type == protocol::FrameType::Hello);
  CHECK(f1->payload == "{\"version\":1}");
  auto data = protocol::parse_data(*f2);
  REQUIRE(data);
  CHECK(f2->channel == 7);
  CHECK(data->first == protocol::StreamId::Err);
  CHECK(data->second == std::string("\0\xff", 2));
  CHECK(protocol::parse_credit(*f3).value() == 4096);
  CHECK(protocol::parse_eof(*f4).value() == protocol::StreamId::Out);
  CHECK(d.buffered() == 0);
}

TEST_CASE("the decoder rejects malformed frames and stays failed") {
  SECTION("unknown type") {
    std::string f = protocol::encode_frame(1, protocol::FrameType::Data, "x");
    f[4] = 42;
    protocol::FrameDecoder d;
    CHECK_FALSE(d.feed(f));
    CHECK_FALSE(d.feed(protocol::encode_frame(1, protocol::FrameType::Close, "")));
  }
  SECTION("reserved bytes") {
    std::string f = protocol::encode_frame(1, protocol::FrameType::Close, "");
    f[6] = 1;
    protocol::FrameDecoder d;
    CHECK_FALSE(d.feed(f));
  }
  SECTION("length beyond the limit is refused before buffering it") {
    std::string f = protocol::encode_frame(1, protocol::FrameType::Data, "");
    f[8] = 0;
    f[9] = 0;
    f[10] = 0x10;  // 1 MiB + ...
    f[11] = 0x01;
    protocol::FrameDecoder d;
    auto r = d.feed(f);
    REQUIRE_FALSE(r);
    CHECK(r.error().message().find("exceeds limit") != std::string::npos);
  }
  SECTION("bad typed payloads") {
    protocol::Frame f{1, protocol::FrameType::Data, ""};
    CHECK_FALSE(protocol::parse_data(f));
    f.payload = "\x05x";
    CHECK_FALSE(protocol::parse_data(f));
    f.payload = "abc";
    CHECK_FALSE(protocol::parse_credit(f));
    f.payload = std::string(4, '\0');
    CHECK_FALSE(protocol::parse_credit(f));  // zero credit is meaningless
    CHECK_FALSE(protocol::parse_json_object("[1,2]"));
    CHECK_FALSE(protocol::parse_json_object("{\"a\":"));
    CHECK_FALSE(protocol::decode_hello("{\"agent\":\"x\"}"));
  }
}

TEST_CASE("random bytes never crash the decoder and never yield oversized frames") {
  std::mt19937 rng(1234);
  for (int round = 0; round < 2000; ++round) {
    protocol::FrameDecoder d;
    std::string junk(rng() % 200, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (round % 2) junk = protocol::encode_data(3, protocol::StreamId::Out, "ok") + junk;
    auto r = d.feed(junk);
    while (auto f = d.pop()) {
      CHECK(f->payload.size() <= protocol::k_max_payload);
      (void)protocol::parse_data(*f);
      (void)protocol::parse_eof(*f);
      (void)protocol::parse_credit(*f);
      (void)protocol::parse_json_object(f->payload);
    }
    (void)r;
  }
}

TEST_CASE("users resolve from passwd and group text") {
  const char* passwd =
      "root:x:0:0:root:/root:/bin/bash\n# comment\nbroken line\n"
      "dev:x:1000:1000:Dev,,,:/home/dev:/bin/sh\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n";
  const char* group = "root:x:0:\nwheel:x:10:dev,other\ndev:x:1000:\ndocker:x:999:dev\n";
  auto dev = protocol::resolve_user("dev", passwd, group);
  REQUIRE(dev);
  CHECK(dev->uid == 1000);
  CHECK(dev->gid == 1000);
  CHECK(dev->home == "/home/dev");
  CHECK(dev->groups == std::vector<gid_t>{1000, 10, 999});
  auto num = protocol::resolve_user("1000:wheel", passwd, group);
  REQUIRE(num);
  CHECK(num->name == "dev");
  CHECK(num->gid == 10);
  auto unknown_uid = protocol::resolve_user("4242:4343", passwd, group);
  REQUIRE(unknown_uid);
  CHECK(unknown_uid->uid == 4242);
  CHECK(unknown_uid->gid == 4343);
  CHECK(unknown_uid->home == "/");
  CHECK_FALSE(protocol::resolve_user("ghost", passwd, group));
  CHECK_FALSE(protocol::resolve_user("dev:ghosts", passwd, group));
  auto env = protocol::default_env({"HOME=/x"}, *dev, false);
  CHECK(env == std::vector<std::string>{"HOME=/x", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                        "USER=dev", "LOGNAME=dev"});
}

// engine/version.hpp states the protocol version the host speaks; the protocol
// library must not include engine, so the two constants are tied here.
static_assert(engine::k_protocol_version == protocol::k_version);

TEST_CASE("client reports a disconnecting agent and a version mismatch") {
  SECTION("agent dies mid-exec") {
    auto [host, agent] = protocol_test::socket_pair();
    std::thread fake([a = std::move(agent)]() mutable {
      (void)util::write_all(
          a.get(), protocol::encode_frame(0, protocol::FrameType::Hello, "{\"version\":1,\"agent\":\"fake\"}"));
      char buf[4096];
      (void)::read(a.get(), buf, sizeof buf);  // Hello
      std::this_thread::sleep_for(100ms);
      a.reset();
    });
    auto c = protocol::Client::handshake(std::move(host), 5s);
    REQUIRE(c);
    ExecRequest req;
    req.argv = {"sleep", "10"};
    auto r = c->exec(req, {});
    fake.join();
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == util::ErrorCode::Guest);
    CHECK(r.error().message().find("guest agent disconnected") != std::string::npos);
    CHECK_FALSE(c->connected());
    CHECK_FALSE(c->get_file("/etc/hostname"));
  }
  SECTION("version mismatch") {
    auto [host, agent] = protocol_test::socket_pair();
    REQUIRE(util::write_all(
        agent.get(), protocol::encode_frame(0, protocol::FrameType::Hello, "{\"version\":2,\"agent\":\"9.9\"}")));
    auto c = protocol::Client::handshake(std::move(host), 5s);
    REQUIRE_FALSE(c);
    CHECK(c.error().message().find("protocol version 2") != std::string::npos);
  }
  SECTION("a flooding agent is cut off") {
    auto [host, agent] = protocol_test::socket_pair();
    std::string flood = protocol::encode_frame(0, protocol::FrameType::Hello, "{\"version\":1,\"agent\":\"x\"}");
    for (int i = 0; i < 1000; ++i)
      flood += protocol::encode_frame(0, protocol::FrameType::Control, "{\"op\":\"noise\"}");
    std::thread writer([&, a = std::move(agent)] {
      (void)util::write_all(a.get(), flood);
      char buf[4096];
      while (::read(a.get(), buf, sizeof buf) > 0) {
      }
    });
    auto c = protocol::Client::handshake(std::move(host), 5s);
    if (c) {
      for (int i = 0; i < 200 && c->connected(); ++i) std::this_thread::sleep_for(5ms);
      CHECK_FALSE(c->connected());
      c = util::make_error(util::ErrorCode::Internal, "done");
    }
    writer.join();
  }
  SECTION("silent agent times out") {
    auto [host, agent] = protocol_test::socket_pair();
    auto c = protocol::Client::handshake(std::move(host), 200ms);
    REQUIRE_FALSE(c);
    CHECK(c.error().message().find("no Hello") != std::string::npos);
  }
}

TEST_CASE("the server rejects garbage and credit violations") {
  protocol_test::FakeSystem sys;
  protocol_test::ignore_sigpipe();
  auto run_server_with = [&](const std::string& bytes) {
    auto [host, guest] = protocol_test::socket_pair();
    auto server = protocol::Server::create(std::move(guest), sys, {});
    REQUIRE(server);
    // A writer thread: the bytes may exceed the socket buffer.
    std::thread writer([&] {
      size_t off = 0;
      while (off < bytes.size()) {
        ssize_t n = ::send(host.get(), bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return;
        off += static_cast<size_t>(n);
      }
    });
    std::string why;
    auto end = server->run(why);
    ::shutdown(host.get(), SHUT_RDWR);
    writer.join();
    return std::pair(end, why);
  };
  std::string hello = protocol::encode_frame(0, protocol::FrameType::Hello, "{\"version\":1,\"host\":\"t\"}");
  auto [e1, w1] = run_server_with(std::string(64, '\x7f'));
  CHECK(e1 == protocol::ServeEnd::ProtocolError);
  auto [e2, w2] = run_server_with(protocol::encode_frame(0, protocol::FrameType::Control, "{\"op\":\"boot\"}"));
  CHECK(e2 == protocol::ServeEnd::ProtocolError);
  CHECK(w2.find("expected Hello") != std::string::npos);
  std::string open =
      protocol::encode_frame(1, protocol::FrameType::Open,
                             protocol::exec_to_json(ExecRequest{{"sleep", "5"}, {}, "", "", false, 24, 80}).dump());
  std::string flood;
  // 256 KiB window + 64 KiB the stdin pipe absorbs (credit returned) < 16 x 32 KiB.
  for (int i = 0; i < 16; ++i) flood += protocol::encode_data(1, protocol::StreamId::In, std::string(32 << 10, 'a'));
  auto [e3, w3] = run_server_with(hello + open + flood);
  CHECK(e3 == protocol::ServeEnd::ProtocolError);
  CHECK(w3.find("credit") != std::string::npos);
  auto [e4, w4] = run_server_with(hello + protocol::encode_frame(2, protocol::FrameType::Open, "{\"kind\":\"get\"}"));
  CHECK(e4 == protocol::ServeEnd::ProtocolError);
  auto [e5, w5] = run_server_with(hello + protocol::encode_frame(3, protocol::FrameType::Open, "not json"));
  CHECK(e5 == protocol::ServeEnd::ProtocolError);
  for (const char* bad :
       {R"({"op":"clock"})", R"({"op":"clock","time_unix_ns":"1"})", R"({"op":"clock","time_unix_ns":1.5})"}) {
    auto [e6, w6] = run_server_with(hello + protocol::encode_frame(0, protocol::FrameType::Control, bad));
    CHECK(e6 == protocol::ServeEnd::ProtocolError);
    CHECK(w6.find("clock") != std::string::npos);
  }
  CHECK(sys.clock_syncs == 0);
}

TEST_CASE("random frames from a hostile agent never crash or hang the client") {
  std::mt19937 rng(4321);
  int handshakes = 0;
  for (int round = 0; round < 150; ++round) {
    auto [host, agent] = protocol_test::socket_pair();
    std::string wire = protocol::encode_frame(0, protocol::FrameType::Hello, "{\"version\":1,\"agent\":\"fuzz\"}");
    int frames = static_cast<int>(rng() % 40);
    for (int i = 0; i < frames; ++i) {
      uint32_t channel = rng() % 4;  // 1 and 3 are the channels the client opens
      auto type = static_cast<protocol::FrameType>(1 + rng() % 7);
      std::string payload;
      switch (rng() % 5) {
        case 0:
          payload = "{\"op\":\"exit\",\"code\":" + std::to_string(static_cast<int>(rng())) + "}";
          break;
        case 1:
          payload = std::string(1, static_cast<char>(rng() % 4)) + std::string(rng() % 300000, 'x');
          break;
        case 2:
          payload = std::string("\xff\xff\xff\x7f", 4);
          break;
        case 3:
          payload = "{\"op\":\"error\",\"message\":42}";
          break;
        default:
          payload.resize(rng() % 64);
          for (auto& c : payload) c = static_cast<char>(rng());
      }
      if (payload.size() > protocol::k_max_payload) payload.resize(protocol::k_max_payload);
      wire += protocol::encode_frame(channel, type, payload);
    }
    std::thread fake([&, a = std::move(agent)]() mutable {
      size_t off = 0;
      while (off < wire.size()) {
        ssize_t n = ::send(a.get(), wire.data() + off, wire.size() - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      a.reset();  // then hang up
    });
    auto c = protocol::Client::handshake(std::move(host), 5s);
    if (c) {
      ++handshakes;
      auto r1 = c->exec(sh("true"), {});
      auto r2 = c->get_file("/x");
      if (!r1) CHECK(r1.error().code() == util::ErrorCode::Guest);
      if (!r2) CHECK(r2.error().code() != util::ErrorCode::Internal);
    }
    fake.join();
    if (c) {
      // The agent hung up: the client must have noticed, and further calls fail cleanly.
      for (int i = 0; i < 200 && c->connected(); ++i) std::this_thread::sleep_for(5ms);
      CHECK_FALSE(c->connected());
      CHECK_FALSE(c->put_file("/y", "z", 0644));
    }
  }
  CHECK(handshakes > 100);
}

// Found by tests/fuzz/protocol_host_fuzz.cpp and protocol_agent_fuzz.cpp (corpus seeds
// wrong_types, float_exit): json::value() threw type_error out of the decoders on a field of
// the wrong type, and a float out of an int's range was converted with undefined behaviour.
TEST_CASE("decoders of either end refuse wrong JSON types and out-of-range numbers without throwing") {
  using nlohmann::json;
  // Host side: what the agent answers.
  for (const char* text :
       {R"({"op":"exit","code":"3"})", R"({"op":"exit","code":2.5})", R"({"op":"exit","signal":1e300})",
        R"({"op":"exit","code":256})", R"({"op":"exit","signal":-1})", R"({"op":"exit","code":[1]})"}) {
    INFO(text);
    auto r = protocol::exec_result_from_json(json::parse(text));
    REQUIRE_FALSE(r);
    CHECK(r.error().code() == util::ErrorCode::Guest);
  }
  auto exit = protocol::exec_result_from_json(json::parse(R"({"op":"exit","code":3,"signal":0})"));
  REQUIRE(exit);
  CHECK(exit->exit_code == 3);
  CHECK(protocol::exec_result_from_json(json::parse(R"({"op":"exit","code":0,"signal":9})"))->exit_code == 137);
  auto err = protocol::channel_result_from_json(json::parse(R"({"op":"error","message":["x"],"code":1})"));
  REQUIRE_FALSE(err);
  CHECK(err.error().message() == "guest: unknown error");
  auto nf = protocol::channel_result_from_json(json::parse(R"({"op":"error","message":"gone","code":"not_found"})"));
  REQUIRE_FALSE(nf);
  CHECK(nf.error().code() == util::ErrorCode::NotFound);
  CHECK_FALSE(protocol::boot_reply_from_json(json::parse(R"({"op":5,"message":{}})")));
  CHECK_FALSE(protocol::boot_reply_from_json(json::parse(R"({"op":"ready","uname":1,"agent_version":"x"})")));
  CHECK_FALSE(protocol::session_reply_from_json(json::parse(R"({"op":"frozen2"})"), "freeze", "frozen"));
  CHECK(protocol::session_reply_from_json(json::parse(R"({"op":"frozen"})"), "freeze", "frozen"));
  // A version that narrows to ours must not pass the handshake's check.
  CHECK_FALSE(protocol::decode_hello(R"({"version":4294967297,"agent":"x"})"));

  // Agent side: what the host sends.
  CHECK(protocol::op_of(json::parse(R"({"op":5})")).empty());
  for (const char* text : {R"({"op":"signal","signal":"KILL"})", R"({"op":"signal","signal":1e300})",
                           R"({"op":"resize","rows":1e20,"cols":80})", R"({"op":"resize","rows":-1})",
                           R"({"op":"close_output","stream":3})"}) {
    INFO(text);
    CHECK_FALSE(protocol::exec_control_from_json(json::parse(text)));
  }
  auto resize = protocol::exec_control_from_json(json::parse(R"({"op":"resize","rows":50,"cols":132})"));
  REQUIRE(resize);
  CHECK((resize->rows == 50 && resize->cols == 132));
  for (const char* text :
       {R"({"kind":"get","path":"/x","max_size":-1.5})", R"({"kind":"get","path":"/x","max_size":"1"})",
        R"({"kind":"tcp","port":1e10})", R"({"kind":"tcp","port":70000})", R"({"kind":"put","path":"rel","mode":420})",
        R"({"kind":"put","path":"~/x","mode":420})", R"({"kind":"put","path":"/x","mode":420,"user":1})",
        R"({"kind":"get","path":"~/x"})", R"({"kind":"fuse","port":-1})",
        R"({"kind":"exec","argv":["x"],"env":[],"cwd":"/","user":"","rows":1e300,"cols":1})", R"({"kind":7})"}) {
    INFO(text);
    CHECK_FALSE(protocol::open_request_from_json(json::parse(text)));
  }
  auto get = protocol::open_request_from_json(json::parse(R"({"kind":"get","path":"/etc/hostname","max_size":65536})"));
  REQUIRE(get);
  CHECK((get->path == "/etc/hostname" && get->max_size == 65536));
  auto put = protocol::open_request_from_json(
      json::parse(R"({"kind":"put","path":"~/.claude/x","mode":33188,"user":"node"})"));
  REQUIRE(put);
  CHECK((put->path == "~/.claude/x" && put->user == "node" && put->mode == 0644));
  auto unknown = protocol::open_request_from_json(json::parse(R"({"kind":"teleport"})"));
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code() == util::ErrorCode::Unsupported);
}
