// proxy_rig: the whole host side of a sandbox's network without a VM. A command runs as
// the "guest" in a private network namespace whose only NIC is a TAP driven by net::Stack;
// DNS answers come from net::Policy and every TCP flow goes to net::Proxy (policy, SNI/Host
// checks, MITM with the sandbox CA, secret placeholders, audit).
//
//   proxy_rig --ca-out FILE [--mtu N] [--audit FILE] [--extra-ca FILE] [--allow RULE]... [--deny RULE]...
//             [--secret NAME=ENVVAR@RULE[,RULE...]]... [--upstream NAME:PORT=ADDR:PORT]...
//             [--stats FILE] -- COMMAND...
// --stats: FILE is rewritten every 100 ms with the stack's and proxy's counters (one line of
// key=value: open_flows, half_open, buffered_bytes, proxy_flows, syn_cookies_sent, ...).
// The command sees each secret as $NAME = its placeholder (never the value).
// Exit status: the command's; 77 when netns/TAP cannot be created; 2 on rig errors.
#include <fcntl.h>
#include <linux/if.h>
#include <malloc.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <atomic>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "net/proxy.hpp"
#include "net/stack.hpp"
#include "util/atomic_file.hpp"
#include "util/process.hpp"

namespace {

int run(const std::vector<std::string>& argv) {
  auto r = util::run_command(argv);
  if (!r) return -1;
  if (r->status.shell_code() != 0) std::cerr << "proxy_rig: " << argv[0] << ": " << r->err;
  return r->status.shell_code();
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    auto pos = s.find(sep, start);
    out.push_back(s.substr(start, pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

[[noreturn]] void die(const std::string& msg) {
  std::cerr << "proxy_rig: " << msg << "\n";
  std::exit(2);
}

struct NetnsGuard {
  std::string name;
  bool created = false;
  ~NetnsGuard() {
    if (created) run({"ip", "netns", "del", name});
    std::error_code ec;
    std::filesystem::remove_all("/etc/netns/" + name, ec);
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string ca_out, audit_path, extra_ca, stats_path;
  uint32_t mtu = 1500;
  std::vector<net::Rule> allow, deny;
  std::vector<std::string> secret_specs, upstream_specs, command;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--") {
      for (++i; i < argc; ++i) command.emplace_back(argv[i]);
    } else if (a == "--ca-out")
      ca_out = next();
    else if (a == "--mtu")
      mtu = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--audit")
      audit_path = next();
    else if (a == "--stats")
      stats_path = next();
    else if (a == "--extra-ca")
      extra_ca = next();
    else if (a == "--allow" || a == "--deny") {
      auto r = net::parse_rule(next());
      if (!r) die(r.error().message());
      (a == "--allow" ? allow : deny).push_back(*r);
    } else if (a == "--secret")
      secret_specs.push_back(next());
    else if (a == "--upstream")
      upstream_specs.push_back(next());
    else
      die("unknown option " + a);
  }
  if (command.empty() || ca_out.empty()) die("usage: see the comment at the top of proxy_rig.cpp");
  std::signal(SIGPIPE, SIG_IGN);
  ::mallopt(M_ARENA_MAX, 1);  // as engine::SandboxNet does for a sandbox's process
  if (geteuid() != 0) {
    std::cerr << "proxy_rig: SKIP: needs root for netns and TAP\n";
    return 77;
  }

  net::ProxyOptions opts;
  opts.policy = net::Policy(allow, deny, net::BlockPrivate::Yes);
  auto table = std::make_shared<net::SecretTable>();
  for (const auto& spec : secret_specs) {
    auto eq = spec.find('='), at = spec.find('@');
    if (eq == std::string::npos || at == std::string::npos || at < eq) die("--secret NAME=ENVVAR@HOSTS: " + spec);
    net::SecretBinding b;
    b.name = spec.substr(0, eq);
    const char* value = std::getenv(spec.substr(eq + 1, at - eq - 1).c_str());
    if (!value) die("environment variable for secret " + b.name + " is not set");
    b.value = value;
    ::unsetenv(spec.substr(eq + 1, at - eq - 1).c_str());  // the guest must not inherit it
    for (const auto& h : split(spec.substr(at + 1), ',')) b.hosts.push_back(net::parse_rule(h).value());
    b.placeholder = net::generate_placeholder().value();
    opts.policy.add_secret_hosts(b.name, b.hosts);
    ::setenv(b.name.c_str(), b.placeholder.c_str(), 1);  // what the guest sees
    table->add(std::move(b));
  }
  opts.secrets = table;
  opts.ca = std::move(net::SandboxCa::create("rig").value());
  if (auto w = util::write_file_atomic(ca_out, opts.ca->cert_pem()); !w) die(w.error().message());
  opts.extra_ca_file = extra_ca;
  if (!audit_path.empty()) {
    auto audit = net::Audit::open(audit_path);
    if (!audit) die(audit.error().message());
    opts.audit = std::make_shared<net::Audit>(std::move(*audit));
  }
  for (const auto& spec : upstream_specs) {
    auto eq = spec.find('=');
    auto left = spec.substr(0, eq), right = spec.substr(eq + 1);
    net::UpstreamOverride o;
    o.name = left.substr(0, left.rfind(':'));
    o.port = static_cast<uint16_t>(std::stoi(left.substr(left.rfind(':') + 1)));
    o.address = net::parse_ipv4(right.substr(0, right.rfind(':'))).value();
    o.to_port = static_cast<uint16_t>(std::stoi(right.substr(right.rfind(':') + 1)));
    opts.upstream_overrides.push_back(o);
  }
  auto name_allowed = net::dns_filter(opts.policy, opts.audit);
  auto proxy = net::Proxy::create(std::move(opts));
  if (!proxy) die(proxy.error().message());

  std::string id = std::to_string(getpid());
  NetnsGuard ns{"mlpx-" + id};
  ns.created = run({"ip", "netns", "add", ns.name}) == 0;
  if (!ns.created) {
    std::cerr << "proxy_rig: SKIP: cannot create a network namespace\n";
    return 77;
  }
  std::string tap_name = "mlpx" + id;
  util::Fd tap(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", tap_name.c_str());
  if (!tap || ioctl(tap.get(), TUNSETIFF, &ifr) != 0) {
    std::cerr << "proxy_rig: SKIP: cannot create a TAP device: " << std::strerror(errno) << "\n";
    return 77;
  }
  net::StackConfig config;
  config.mtu = mtu;
  std::filesystem::create_directories("/etc/netns/" + ns.name);
  std::ofstream("/etc/netns/" + ns.name + "/resolv.conf")
      << "nameserver " << config.gateway_ip.to_string() << "\noptions attempts:2 timeout:2\n";
  auto in_ns = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"ip", "netns", "exec", ns.name});
    return run(args) == 0;
  };
  if (run({"ip", "link", "set", tap_name, "netns", ns.name}) != 0 || !in_ns({"ip", "link", "set", "lo", "up"}) ||
      !in_ns({"ip", "link", "set", tap_name, "address", "52:54:00:12:34:56", "mtu", std::to_string(mtu), "up"}) ||
      !in_ns(
          {"ip", "addr", "add", config.guest_ip.to_string() + "/" + std::to_string(config.prefix), "dev", tap_name}) ||
      !in_ns({"ip", "route", "add", "default", "via", config.gateway_ip.to_string()}))
    die("netns setup failed");
  config.name_allowed = std::move(name_allowed);
  config.admit_flow = (*proxy)->admission();
  auto link = net::make_tap_link(std::move(tap));
  if (!link) die(link.error().message());
  auto stack =
      net::Stack::create(std::move(config), std::move(*link), std::make_shared<net::NameMap>(), (*proxy)->handler());
  if (!stack || !(*stack)->start()) die("cannot start the stack");
  std::atomic<bool> stats_stop{false};
  std::thread stats_thread;
  if (!stats_path.empty()) {
    stats_thread = std::thread([&] {
      while (!stats_stop) {
        auto s = (*stack)->stats();
        std::string line = "open_flows=" + std::to_string(s.open_flows) + " half_open=" + std::to_string(s.half_open) +
                           " buffered_bytes=" + std::to_string(s.buffered_bytes) +
                           " proxy_flows=" + std::to_string((*proxy)->active_flows()) +
                           " syn_cookies_sent=" + std::to_string(s.syn_cookies_sent) +
                           " syn_cookies_accepted=" + std::to_string(s.syn_cookies_accepted) +
                           " flows_accepted=" + std::to_string(s.flows_accepted) +
                           " flows_refused=" + std::to_string(s.flows_refused) + "\n";
        (void)util::write_file_atomic(stats_path, line);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  std::vector<std::string> cmd = {"ip", "netns", "exec", ns.name};
  cmd.insert(cmd.end(), command.begin(), command.end());
  util::SpawnOptions spawn;
  spawn.argv = cmd;
  int status = 2;
  if (auto child = util::Child::spawn(spawn); child) {
    auto st = child->wait();
    status = st ? st->shell_code() : 2;
  }
  stats_stop = true;
  if (stats_thread.joinable()) stats_thread.join();
  (*stack)->stop();
  return status;  // ~Stack, then ~Proxy (joins flows), then the netns is deleted
}
