// protocol: frame codec, users, and the host Client against the guest Server
// over a socketpair (real processes, real ptys, real files).
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <random>

#include "engine/version.hpp"
#include "guest/protocol/frame.hpp"
#include "guest/protocol/messages.hpp"
#include "guest/protocol/users.hpp"
#include "guest/protocol/version.hpp"
#include "protocol_harness.hpp"
#include "util/sha256.hpp"
#include "util/temp_dir.hpp"

using namespace std::chrono_literals;
using protocol::ExecIo;
using protocol::ExecRequest;
using protocol_test::Harness;
using protocol_test::PipeReader;

namespace {

struct Captured {
  protocol::ExecResult result;
  std::string out, err;
};

Captured run(protocol::Client& c, ExecRequest req, const std::string& input = {}) {
  PipeReader out, err;
  int in[2];
  REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
  util::Fd in_r(in[0]), in_w(in[1]);
  std::thread writer([&, w = std::move(in_w)]() mutable {
    (void)util::write_all(w.get(), input);
  });
  ExecIo io;
  io.stdin_fd = in_r.get();
  io.stdout_fd = out.write_end.get();
  io.stderr_fd = err.write_end.get();
  auto r = c.exec(req, io);
  writer.join();
  if (!r) FAIL(r.error().message());
  return {*r, out.finish(), err.finish()};
}

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

TEST_CASE("handshake exchanges versions") {
  Harness h;
  CHECK(h.client->peer_version() == protocol::k_version);
  CHECK(h.client->agent_version() == protocol::k_agent_version);
  CHECK(h.client->connected());
}

TEST_CASE("exec echo streams stdout and exits 0") {
  Harness h;
  ExecRequest req;
  req.argv = {"echo", "hello", "world"};
  auto c = run(*h.client, req);
  CHECK(c.result.exit_code == 0);
  CHECK(c.result.signal == 0);
  CHECK(c.out == "hello world\n");
  CHECK(c.err.empty());
}

TEST_CASE("exec exit codes: 3, 126 not executable, 127 not found, 128+signal") {
  Harness h;
  CHECK(run(*h.client, sh("exit 3")).result.exit_code == 3);

  ExecRequest missing;
  missing.argv = {"/definitely/not/here"};
  auto nf = run(*h.client, missing);
  CHECK(nf.result.exit_code == 127);
  CHECK(nf.err.find("not found") != std::string::npos);

  ExecRequest bare;
  bare.argv = {"no-such-command-xyz"};
  CHECK(run(*h.client, bare).result.exit_code == 127);

  auto dir = util::TempDir::create("/tmp", "ml-proto-").value();
  std::string plain = (dir.path() / "plain").string();
  std::ofstream(plain) << "not a program\n";
  ::chmod(plain.c_str(), 0644);
  ExecRequest noexec;
  noexec.argv = {plain};
  auto ne = run(*h.client, noexec);
  CHECK(ne.result.exit_code == 126);
  CHECK(ne.err.find("Permission denied") != std::string::npos);

  ExecRequest in_dir;
  in_dir.argv = {dir.path().string()};
  CHECK(run(*h.client, in_dir).result.exit_code == 126);

  auto killed = run(*h.client, sh("kill -TERM $$"));
  CHECK(killed.result.signal == SIGTERM);
  CHECK(killed.result.exit_code == 128 + SIGTERM);
}

TEST_CASE("exec keeps stderr apart from stdout") {
  Harness h;
  auto c = run(*h.client, sh("echo out1; echo err1 >&2; echo out2; echo err2 >&2"));
  CHECK(c.out == "out1\nout2\n");
  CHECK(c.err == "err1\nerr2\n");
}

TEST_CASE("exec applies env, cwd and defaults") {
  Harness h;
  auto req = sh("echo \"$FOO|$(pwd)|${PATH:+has-path}|$HOME\"");
  req.env = {"FOO=bar baz", "HOME=/custom"};
  req.cwd = "/tmp";
  CHECK(run(*h.client, req).out == "bar baz|/tmp|has-path|/custom\n");
  auto def = sh("pwd");
  CHECK(run(*h.client, def).out == "/\n");
  auto bad_cwd = sh("true");
  bad_cwd.cwd = "/no/such/dir";
  auto c = run(*h.client, bad_cwd);
  CHECK(c.result.exit_code == 126);
  CHECK(c.err.find("chdir") != std::string::npos);
}

TEST_CASE("exec switches user from /etc/passwd") {
  if (::getuid() != 0) {
    WARN("not root: only checking that an unknown user is refused");
  } else {
    Harness h;
    auto req = sh("echo $(id -u):$(id -g):$USER:$HOME");
    req.user = "nobody";
    auto c = run(*h.client, req);
    CHECK(c.result.exit_code == 0);
    CHECK(c.out.rfind("65534:", 0) == 0);
    CHECK(c.out.find(":nobody:") != std::string::npos);
    auto num = sh("echo $(id -u):$(id -g):$(id -G)");
    num.user = "4242:4343";
    CHECK(run(*h.client, num).out == "4242:4343:4343\n");
  }
  Harness h;
  ExecRequest ghost;
  ghost.argv = {"true"};
  ghost.user = "ghost-user-xyz";
  auto r = h.client->exec(ghost, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("ghost-user-xyz") != std::string::npos);
}

TEST_CASE("50 MB through cat arrive byte-exact") {
  Harness h;
  auto dir = util::TempDir::create("/tmp", "ml-proto-").value();
  std::string in_path = (dir.path() / "in").string(), out_path = (dir.path() / "out").string();
  {
    std::mt19937_64 rng(99);
    std::string chunk(1 << 20, '\0');
    std::ofstream f(in_path, std::ios::binary);
    for (int i = 0; i < 50; ++i) {
      for (size_t j = 0; j + 8 <= chunk.size(); j += 8) {
        uint64_t v = rng();
        std::memcpy(chunk.data() + j, &v, 8);
      }
      f.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
  }
  util::Fd in = util::open_fd(in_path, O_RDONLY).value();
  util::Fd out = util::open_fd(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644).value();
  ExecRequest req;
  req.argv = {"cat"};
  auto start = std::chrono::steady_clock::now();
  auto r = h.client->exec(req, {in.get(), out.get(), -1});
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(r);
  CHECK(r->exit_code == 0);
  WARN("50 MB through cat over the socketpair: " << ms << " ms");
  CHECK(std::filesystem::file_size(out_path) == 50u << 20);
  CHECK(util::sha256_file(in_path).value() == util::sha256_file(out_path).value());
}

TEST_CASE("a stalled reader on one exec does not stall another") {
  Harness h;
  // Exec A writes 8 MB into a pipe nobody reads yet.
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  util::Fd stall_r(p[0]), stall_w(p[1]);
  std::atomic<bool> a_done{false};
  protocol::ExecResult a_result;
  std::thread a([&] {
    ExecRequest req = sh("head -c 8000000 /dev/zero");
    auto r = h.client->exec(req, {-1, stall_w.get(), -1});
    if (r) a_result = *r;
    a_done = true;
  });
  std::this_thread::sleep_for(300ms);
  CHECK_FALSE(a_done);
  // Exec B moves 4 MB and finishes while A is stuck.
  auto start = std::chrono::steady_clock::now();
  auto b = run(*h.client, sh("head -c 4000000 /dev/urandom | wc -c"));
  CHECK(b.out == "4000000\n");
  CHECK(std::chrono::steady_clock::now() - start < 10s);
  CHECK_FALSE(a_done);
  // Now drain A.
  std::string drained;
  char buf[65536];
  while (!a_done || drained.size() < 8000000) {
    ssize_t n = ::read(stall_r.get(), buf, sizeof buf);
    if (n <= 0) break;
    drained.append(buf, static_cast<size_t>(n));
    if (drained.size() == 8000000) break;
  }
  a.join();
  CHECK(drained.size() == 8000000);
  CHECK(a_result.exit_code == 0);
}

TEST_CASE("tty exec: prompt, resize seen by stty size, Ctrl-C kills the process") {
  Harness h;
  PipeReader out;
  int in[2];
  REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
  util::Fd in_r(in[0]), in_w(in[1]);
  // A local pty stands in for the user's terminal; its size is what a resize sends.
  util::Fd term(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  REQUIRE(term);
  winsize ws{};
  ws.ws_row = 40;
  ws.ws_col = 120;
  REQUIRE(::ioctl(term.get(), TIOCSWINSZ, &ws) == 0);

  std::atomic<pthread_t> exec_thread{};
  std::atomic<bool> ready{false};
  protocol::ExecResult result;
  std::string error;
  std::thread t([&] {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &s, nullptr);
    util::Fd sfd(::signalfd(-1, &s, SFD_CLOEXEC));
    exec_thread = pthread_self();
    ready = true;
    ExecRequest req = sh("stty size; printf 'prompt> '; read line; echo \"got:$line\"; stty size; exec sleep 30");
    req.tty = true;
    req.rows = 30;
    req.cols = 100;
    ExecIo io;
    io.stdin_fd = in_r.get();
    io.stdout_fd = out.write_end.get();
    io.signal_fd = sfd.get();
    io.winsize_fd = term.get();
    auto r = h.client->exec(req, io);
    if (r)
      result = *r;
    else
      error = r.error().message();
  });
  REQUIRE(out.wait_for("prompt> "));
  CHECK(out.data().find("30 100") != std::string::npos);
  while (!ready) std::this_thread::sleep_for(1ms);
  pthread_kill(exec_thread.load(), SIGWINCH);
  std::this_thread::sleep_for(300ms);
  REQUIRE(util::write_all(in_w.get(), "hi\r"));
  CHECK(out.wait_for("got:hi"));
  CHECK(out.wait_for("40 120"));
  std::this_thread::sleep_for(200ms);
  REQUIRE(util::write_all(in_w.get(), "\x03"));
  t.join();
  CHECK(error.empty());
  CHECK(result.signal == SIGINT);
  CHECK(result.exit_code == 130);
}

TEST_CASE("put_file and get_file move binary data; errors name the path") {
  Harness h;
  auto dir = util::TempDir::create("/tmp", "ml-proto-").value();
  std::string path = (dir.path() / "blob").string();
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + (i >> 9));
  REQUIRE(h.client->put_file(path, data, 0750));
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0750);
  auto back = h.client->get_file(path);
  REQUIRE(back);
  CHECK(*back == data);
  REQUIRE(h.client->put_file(path, "small", 0644));
  CHECK(h.client->get_file(path).value() == "small");

  auto missing = h.client->get_file("/no/such/file");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == util::ErrorCode::NotFound);
  CHECK(missing.error().message().find("/no/such/file") != std::string::npos);
  auto too_big = h.client->get_file(path, 2);
  CHECK_FALSE(too_big);
  auto bad_put = h.client->put_file("/no/such/dir/file", "x", 0644);
  REQUIRE_FALSE(bad_put);
  CHECK(bad_put.error().message().find("/no/such/dir/file") != std::string::npos);
  CHECK(h.client->connected());
}

TEST_CASE("tcp stream reaches a guest loopback port") {
  Harness h;
  util::Fd lst(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(lst.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(lst.get(), 1) == 0);
  socklen_t len = sizeof sa;
  REQUIRE(::getsockname(lst.get(), reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  std::thread echo([&] {
    util::Fd c(::accept4(lst.get(), nullptr, nullptr, SOCK_CLOEXEC));
    std::string all = util::read_all(c.get()).value();
    (void)util::write_all(c.get(), "echo:" + all);
  });
  auto s = h.client->open_stream("tcp", ntohs(sa.sin_port));
  REQUIRE(s);
  REQUIRE(s->write(std::string(100000, 'z')));
  REQUIRE(s->close_write());
  std::string got;
  for (;;) {
    auto chunk = s->read();
    REQUIRE(chunk);
    if (!*chunk) break;
    got += **chunk;
  }
  echo.join();
  CHECK(got == "echo:" + std::string(100000, 'z'));
  auto refused = h.client->open_stream("tcp", 1);
  REQUIRE(refused);
  auto r = refused->read();
  CHECK_FALSE(r);
}

TEST_CASE("boot and shutdown go through the System; boot failure is reported") {
  {
    Harness h;
    protocol::BootConfig cfg;
    cfg.time_unix_ns = 1700000000000000000;
    cfg.hostname = "sandbox";
    cfg.hosts = {"127.0.0.1 localhost sandbox"};
    auto info = h.client->boot(cfg, 5s);
    REQUIRE(info);
    CHECK(info->uname == "Linux fake");
    CHECK(info->timings_ms.size() == 1);
    REQUIRE(h.system.booted);
    CHECK(h.system.booted->hostname == "sandbox");
    CHECK(h.system.booted->hosts == cfg.hosts);
    CHECK(h.system.booted->lower_disks == std::vector<std::string>{"ml-image"});
    REQUIRE(h.client->shutdown(5s));
    h.stop_client();
    CHECK(h.end == protocol::ServeEnd::Shutdown);
    CHECK(h.system.shutdown_prepared);
  }
  Harness h;
  protocol::BootConfig bad;
  bad.hostname = "fail";
  auto r = h.client->boot(bad, 5s);
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("no such device") != std::string::npos);
  h.stop_client();
  CHECK(h.end == protocol::ServeEnd::BootFailed);
}

TEST_CASE("the server ends and kills processes when the host disappears") {
  Harness h;
  auto dir = util::TempDir::create("/tmp", "ml-proto-").value();
  std::string pidfile = (dir.path() / "pid").string();
  std::thread t([&] {
    auto r = h.client->exec(sh("echo $$ > " + pidfile + "; exec sleep 60"), {});
    (void)r;
  });
  for (int i = 0; i < 500 && !std::filesystem::exists(pidfile); ++i) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(100ms);
  pid_t pid = std::stoi(util::read_all(util::open_fd(pidfile, O_RDONLY)->get()).value());
  // Shut the socket down under the client: the server must notice and clean up.
  std::thread closer([&] { h.stop_client(); });
  t.join();
  closer.join();
  CHECK(h.end == protocol::ServeEnd::Disconnected);
  CHECK(::kill(pid, 0) != 0);
}

TEST_CASE("client reports a disconnecting agent and a version mismatch") {
  SECTION("agent dies mid-exec") {
    auto [host, agent] = protocol_test::socket_pair();
    std::thread fake([a = std::move(agent)]() mutable {
      (void)util::write_all(a.get(), protocol::encode_frame(0, protocol::FrameType::Hello,
                                                             "{\"version\":1,\"agent\":\"fake\"}"));
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
    REQUIRE(util::write_all(agent.get(), protocol::encode_frame(0, protocol::FrameType::Hello,
                                                                "{\"version\":2,\"agent\":\"9.9\"}")));
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
  std::string open = protocol::encode_frame(
      1, protocol::FrameType::Open,
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
}

TEST_CASE("without a tty, a host signal is forwarded to the guest process") {
  Harness h;
  std::atomic<pthread_t> exec_thread{};
  std::atomic<bool> ready{false};
  protocol::ExecResult result;
  PipeReader out;
  std::thread t([&] {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    pthread_sigmask(SIG_BLOCK, &s, nullptr);
    util::Fd sfd(::signalfd(-1, &s, SFD_CLOEXEC));
    exec_thread = pthread_self();
    ready = true;
    ExecIo io;
    io.stdout_fd = out.write_end.get();
    io.signal_fd = sfd.get();
    auto r = h.client->exec(sh("echo started; exec sleep 30"), io);
    if (r) result = *r;
  });
  REQUIRE(out.wait_for("started"));
  while (!ready) std::this_thread::sleep_for(1ms);
  std::this_thread::sleep_for(100ms);
  pthread_kill(exec_thread.load(), SIGINT);
  t.join();
  CHECK(result.signal == SIGINT);
  CHECK(result.exit_code == 130);
}

TEST_CASE("an unknown channel kind fails that channel only") {
  Harness h;
  auto s = h.client->open_stream("no-such-kind", 1);
  REQUIRE(s);
  auto r = s->read();
  REQUIRE_FALSE(r);
  CHECK(r.error().message().find("unknown channel kind") != std::string::npos);
  CHECK(run(*h.client, sh("echo still fine")).out == "still fine\n");
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
        case 0: payload = "{\"op\":\"exit\",\"code\":" + std::to_string(static_cast<int>(rng())) + "}"; break;
        case 1: payload = std::string(1, static_cast<char>(rng() % 4)) + std::string(rng() % 300000, 'x'); break;
        case 2: payload = std::string("\xff\xff\xff\x7f", 4); break;
        case 3: payload = "{\"op\":\"error\",\"message\":42}"; break;
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

TEST_CASE("a closed host stdout ends the guest writer with SIGPIPE, like a pipeline") {
  Harness h;
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  util::Fd r(p[0]), w(p[1]);
  std::thread reader([&] {
    char buf[100];
    (void)::read(r.get(), buf, sizeof buf);
    r.reset();  // like `head -c 100`
  });
  ExecRequest req;
  req.argv = {"yes"};
  auto res = h.client->exec(req, {-1, w.get(), -1});
  reader.join();
  REQUIRE(res);
  CHECK(res->signal == SIGPIPE);
  CHECK(res->exit_code == 128 + SIGPIPE);
}
