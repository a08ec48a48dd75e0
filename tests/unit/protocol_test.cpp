// protocol end to end: the host Client against the guest Server over a
// socketpair, running real processes, real ptys, real files and sockets.
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
  std::thread writer([&, w = std::move(in_w)]() mutable { (void)util::write_all(w.get(), input); });
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

TEST_CASE("handshake exchanges versions") {
  Harness h;
  CHECK(h.client->peer_version() == protocol::k_version);
  CHECK(h.client->agent_version() == protocol::k_agent_version);
  CHECK(h.client->connected());
}

TEST_CASE("freeze and thaw session ops, and a refused freeze does not end the session") {
  Harness h;
  REQUIRE(h.client->freeze_writable(std::chrono::seconds(5)));
  REQUIRE(h.client->thaw_writable(std::chrono::seconds(5)));
  CHECK(h.system.freezes == 1);
  CHECK(h.system.thaws == 1);
  h.system.freeze_supported = false;
  auto r = h.client->freeze_writable(std::chrono::seconds(5));
  REQUIRE(!r);
  CHECK(r.error().message().find("cannot freeze here") != std::string::npos);
  ExecRequest req;
  req.argv = {"echo", "still here"};
  CHECK(run(*h.client, req).out == "still here\n");
}

TEST_CASE("clock sync carries the host time and needs no answer, even while another session op waits") {
  Harness h;
  auto before = std::chrono::system_clock::now().time_since_epoch();
  h.client->sync_clock();
  h.client->sync_clock();
  REQUIRE(h.client->freeze_writable(std::chrono::seconds(5)));  // its answer is not taken by the clock op
  auto after = std::chrono::system_clock::now().time_since_epoch();
  for (int i = 0; i < 200 && h.system.clock_syncs < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(h.system.clock_syncs == 2);
  CHECK(h.system.clock_ns >= std::chrono::duration_cast<std::chrono::nanoseconds>(before).count());
  CHECK(h.system.clock_ns <= std::chrono::duration_cast<std::chrono::nanoseconds>(after).count());
  ExecRequest req;
  req.argv = {"echo", "still here"};
  CHECK(run(*h.client, req).out == "still here\n");
}

TEST_CASE("resume is refused without a suspend: a host (or a replayed stream) cannot re-seed a live session") {
  Harness h;
  protocol::ResumeConfig config;
  config.entropy = std::string(protocol::k_resume_entropy_bytes, 'x');
  config.hostname = "other";
  auto r = h.client->resume(config, std::chrono::seconds(5));
  REQUIRE(!r);
  CHECK_THAT(r.error().message(), Catch::Contains("resume without a suspend"));
  h.stop_client();
  CHECK(h.end == protocol::ServeEnd::ProtocolError);
}

TEST_CASE("resume messages: entropy must be exactly 64 hex-encoded bytes, mounts absolute") {
  protocol::ResumeConfig config;
  config.entropy = std::string(protocol::k_resume_entropy_bytes, '\x9c');
  config.time_unix_ns = 42;
  config.hostname = "h";
  config.hosts = {"127.0.0.1 localhost"};
  config.ca_pem = "PEM";
  config.mounts = {{1, "/workspace", "rw", ""}};
  auto j = protocol::resume_to_json(config);
  auto back = protocol::resume_from_json(j);
  REQUIRE(back);
  CHECK(back->entropy == config.entropy);
  CHECK(back->mounts.size() == 1);
  CHECK(back->ca_pem == "PEM");
  auto short_seed = j;
  short_seed["entropy"] = "abcd";
  CHECK(!protocol::resume_from_json(short_seed));
  auto not_hex = j;
  not_hex["entropy"] = std::string(2 * protocol::k_resume_entropy_bytes, 'z');
  CHECK(!protocol::resume_from_json(not_hex));
  auto relative = j;
  relative["mounts"][0]["target"] = "workspace";
  CHECK(!protocol::resume_from_json(relative));
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

TEST_CASE("put_file and get_file move binary data, errors name the path") {
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

TEST_CASE("boot and shutdown go through the System, boot failure is reported") {
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

TEST_CASE("tty exec: end of host stdin reaches the guest as the terminal's EOF") {
  Harness h;
  ExecRequest req;
  req.argv = {"cat"};
  req.tty = true;
  auto c = run(*h.client, req, "line one\n");
  CHECK(c.result.exit_code == 0);
  CHECK(c.out.find("line one\r\n") != std::string::npos);
}
