// Drives a booted matchlock-agent through the VM's control socket and checks
// the protocol end to end (used by tests/cli/agent_vm.sh, which boots QEMU).
// Usage: agent_vm_check CTL_SOCK WORKDIR. Exit 0 when every check passed.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>

#include "guest/protocol/client.hpp"
#include "util/fd.hpp"
#include "util/sha256.hpp"

using namespace std::chrono_literals;

namespace {

int g_failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAIL", what.c_str());
  if (!ok) ++g_failures;
}

util::Result<util::Fd> connect_unix(const std::string& path, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    util::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return fd;
    if (std::chrono::steady_clock::now() > deadline) return util::sys_error("connect", path);
    std::this_thread::sleep_for(20ms);
  }
}

struct Run {
  protocol::ExecResult result;
  std::string out, err;
};

// Runs a command with stdin from `in_path` (or empty) and captures output in files.
Run run(protocol::Client& c, protocol::ExecRequest req, const std::string& dir, const std::string& in_path = "") {
  util::Fd in = in_path.empty() ? util::Fd() : util::open_fd(in_path, O_RDONLY).value();
  util::Fd out = util::open_fd(dir + "/out", O_RDWR | O_CREAT | O_TRUNC, 0600).value();
  util::Fd err = util::open_fd(dir + "/err", O_RDWR | O_CREAT | O_TRUNC, 0600).value();
  Run r;
  auto res = c.exec(req, {in.get(), out.get(), err.get()});
  if (!res) {
    check(false, "exec " + req.argv.back() + ": " + res.error().message());
    return r;
  }
  r.result = *res;
  ::lseek(out.get(), 0, SEEK_SET);
  ::lseek(err.get(), 0, SEEK_SET);
  r.out = util::read_all(out.get()).value();
  r.err = util::read_all(err.get()).value();
  return r;
}

protocol::ExecRequest sh(const std::string& script) {
  protocol::ExecRequest r;
  r.argv = {"sh", "-c", script};
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: agent_vm_check CTL_SOCK WORKDIR\n");
    return 2;
  }
  std::string dir = argv[2];
  auto fd = connect_unix(argv[1], 60s);
  if (!fd) return std::printf("FAIL: %s\n", fd.error().message().c_str()), 1;
  auto t0 = std::chrono::steady_clock::now();
  auto client = protocol::Client::handshake(std::move(*fd), 300s);
  if (!client) return std::printf("FAIL: %s\n", client.error().message().c_str()), 1;
  protocol::Client& c = *client;
  protocol::BootConfig boot;
  boot.time_unix_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  boot.hostname = "vmcheck";
  boot.hosts = {"127.0.0.1 localhost vmcheck"};
  auto info = c.boot(boot, 120s);
  if (!info) return std::printf("FAIL: boot: %s\n", info.error().message().c_str()), 1;
  std::printf("booted in %lld ms (host view): %s\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count()),
              info->uname.c_str());
  for (const auto& [name, ms] : info->timings_ms)
    std::printf("  %s=%lld ms\n", name.c_str(), static_cast<long long>(ms));

  check(run(c, sh("hostname; cat /etc/hosts"), dir).out == "vmcheck\n127.0.0.1 localhost vmcheck\n",
        "hostname and /etc/hosts");
  check(run(c, sh("date +%Y"), dir).out.substr(0, 2) == "20", "clock set from the host");
  check(run(c, sh("grep -c ' / overlay ' /proc/mounts"), dir).out == "1\n", "overlay root");
  check(run(c, sh("exit 3"), dir).result.exit_code == 3, "exit code 3");
  protocol::ExecRequest missing;
  missing.argv = {"/no/such/program"};
  Run nf = run(c, missing, dir);
  check(nf.result.exit_code == 127 && nf.err.find("not found") != std::string::npos, "127 for a missing program");
  protocol::ExecRequest noexec;
  noexec.argv = {"/etc/passwd"};
  check(run(c, noexec, dir).result.exit_code == 126, "126 for a non-executable file");
  Run killed = run(c, sh("kill -KILL $$"), dir);
  check(killed.result.exit_code == 137 && killed.result.signal == 9, "128+9 when killed by SIGKILL");
  Run split = run(c, sh("echo out; echo err >&2"), dir);
  check(split.out == "out\n" && split.err == "err\n", "stderr kept apart");
  auto envreq = sh("echo $FOO:$(pwd):$(id -u):$HOME");
  envreq.env = {"FOO=bar"};
  envreq.cwd = "/tmp";
  envreq.user = "user";
  check(run(c, envreq, dir).out == "bar:/tmp:1000:/home/user\n", "env, cwd, user from /etc/passwd");
  auto tty = sh("stty size; test -t 0 && echo tty");
  tty.tty = true;
  tty.rows = 33;
  tty.cols = 77;
  Run t = run(c, tty, dir);
  check(t.out == "33 77\r\ntty\r\n", "tty with the requested size");

  // 50 MB of random bytes through cat, compared by sha256.
  std::string big = dir + "/big";
  {
    util::Fd f = util::open_fd(big, O_WRONLY | O_CREAT | O_TRUNC, 0600).value();
    std::mt19937_64 rng(7);
    std::string chunk(1 << 20, '\0');
    for (int i = 0; i < 50; ++i) {
      for (size_t j = 0; j + 8 <= chunk.size(); j += 8) {
        uint64_t v = rng();
        std::memcpy(chunk.data() + j, &v, 8);
      }
      (void)util::write_all(f.get(), chunk);
    }
  }
  protocol::ExecRequest cat;
  cat.argv = {"cat"};
  auto c0 = std::chrono::steady_clock::now();
  Run catted = run(c, cat, dir, big);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - c0).count();
  std::printf("50 MB through cat in %lld ms\n", static_cast<long long>(ms));
  check(catted.result.exit_code == 0 && catted.out.size() == 50u << 20 &&
            util::sha256_hex(catted.out) == util::sha256_file(big).value(),
        "50 MB through cat byte-exact");

  check(c.put_file("/tmp/put", std::string("\0bin\xff", 5), 0640).has_value(), "put_file");
  auto got = c.get_file("/tmp/put");
  check(got && *got == std::string("\0bin\xff", 5), "get_file returns the same bytes");
  check(run(c, sh("stat -c %a /tmp/put"), dir).out == "640\n", "put_file mode");

  Run full = run(c, sh("dd if=/dev/zero of=/fill bs=1M 2>&1; echo rc=$?"), dir);
  check(full.out.find("No space left on device") != std::string::npos && full.out.find("rc=0") == std::string::npos,
        "filling the writable disk gives ENOSPC");

  auto down = c.shutdown(60s);
  check(down.has_value(), "shutdown acknowledged");
  std::printf("%d failure(s)\n", g_failures);
  return g_failures ? 1 : 0;
}
