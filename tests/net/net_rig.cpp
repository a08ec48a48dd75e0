// net_rig: runs a command as the "guest" inside a private network namespace whose only NIC is a
// TAP device driven by net::Stack in this process. Every TCP flow the guest opens is spliced to
// 127.0.0.1:<dst_port> in the host namespace (the test plays the proxy's role), except ports
// named with --refuse (not admitted: RST to the SYN). DNS: --allow names get synthetic addresses.
//
//   net_rig [--mtu N] [--allow NAME]... [--refuse PORT]... [--loss PCT] [--flow-log FILE]
//           [--upstream-port-map FROM:TO]... -- COMMAND...
// Exit status: the command's; 77 when netns/TAP cannot be created (printed why); 2 on rig errors.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <csignal>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "net/stack.hpp"
#include "tests/net/splice.hpp"
#include "util/process.hpp"

namespace {

struct Options {
  uint32_t mtu = 1500;
  std::set<std::string> allow;
  std::set<uint16_t> refuse;
  std::map<uint16_t, uint16_t> port_map;
  std::string loss;
  std::string flow_log;
  std::vector<std::string> command;
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--") {
      for (++i; i < argc; ++i) o.command.emplace_back(argv[i]);
      break;
    }
    if (a == "--mtu")
      o.mtu = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--allow")
      o.allow.insert(next());
    else if (a == "--refuse")
      o.refuse.insert(static_cast<uint16_t>(std::stoul(next())));
    else if (a == "--loss")
      o.loss = next();
    else if (a == "--flow-log")
      o.flow_log = next();
    else if (a == "--upstream-port-map") {
      std::string v = next();
      auto colon = v.find(':');
      if (colon == std::string::npos) return false;
      o.port_map[static_cast<uint16_t>(std::stoul(v.substr(0, colon)))] =
          static_cast<uint16_t>(std::stoul(v.substr(colon + 1)));
    } else
      return false;
  }
  return !o.command.empty();
}

int run(const std::vector<std::string>& argv, bool quiet = false) {
  auto r = util::run_command(argv);
  if (!r) {
    std::cerr << "net_rig: " << r.error().message() << "\n";
    return -1;
  }
  if (!quiet && r->status.shell_code() != 0) std::cerr << "net_rig: " << argv[0] << " ...: " << r->err;
  return r->status.shell_code();
}

// The namespace, its resolv.conf and the TAP: created in the constructor's steps, removed here.
class Namespace {
 public:
  explicit Namespace(std::string name) : m_name(std::move(name)) {}
  ~Namespace() {
    if (m_created) run({"ip", "netns", "del", m_name}, true);
    std::error_code ec;
    std::filesystem::remove_all("/etc/netns/" + m_name, ec);
  }
  bool create() {
    m_created = run({"ip", "netns", "add", m_name}) == 0;
    return m_created;
  }
  bool exec(std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"ip", "netns", "exec", m_name});
    return run(argv) == 0;
  }
  const std::string& name() const { return m_name; }

 private:
  std::string m_name;
  bool m_created = false;
};

util::Fd open_tap(const std::string& name, std::string& why) {
  util::Fd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!fd) {
    why = std::string("open /dev/net/tun: ") + strerror(errno);
    return {};
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name.c_str());
  if (ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
    why = std::string("TUNSETIFF: ") + strerror(errno);
    return {};
  }
  return fd;
}

// Drops a share of frames both ways: the loss fallback when the kernel has no netem.
class LossyLink final : public net::FrameLink {
 public:
  LossyLink(std::unique_ptr<net::FrameLink> inner, double loss) : m_inner(std::move(inner)), m_loss(loss) {}
  int fd() const override { return m_inner->fd(); }
  util::Result<bool> read_frame(std::vector<uint8_t>& frame) override {
    while (true) {
      bool got = ML_TRY(m_inner->read_frame(frame));
      if (!got || !drop()) return got;
    }
  }
  util::Result<void> write_frame(std::span<const uint8_t> frame) override {
    if (drop()) return util::ok();
    return m_inner->write_frame(frame);
  }
  bool wants_write() const override { return m_inner->wants_write(); }
  util::Result<void> flush() override { return m_inner->flush(); }

 private:
  bool drop() { return std::uniform_real_distribution<double>(0, 1)(m_rng) < m_loss; }
  std::unique_ptr<net::FrameLink> m_inner;
  double m_loss;
  std::mt19937 m_rng{12345};
};

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!parse(argc, argv, opt)) {
    std::cerr << "usage: net_rig [--mtu N] [--allow NAME]... [--refuse PORT]... [--loss PCT] "
                 "[--flow-log FILE] [--upstream-port-map FROM:TO]... -- COMMAND...\n";
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  if (geteuid() != 0) {
    std::cerr << "net_rig: SKIP: needs root for netns and TAP\n";
    return 77;
  }
  std::string id = std::to_string(getpid());
  Namespace ns("mlnet-" + id);
  if (!ns.create()) {
    std::cerr << "net_rig: SKIP: cannot create a network namespace\n";
    return 77;
  }
  std::string tap_name = "mlt" + id;
  std::string why;
  util::Fd tap = open_tap(tap_name, why);
  if (!tap) {
    std::cerr << "net_rig: SKIP: cannot create a TAP device: " << why << "\n";
    return 77;
  }
  net::StackConfig config;
  config.mtu = opt.mtu;
  std::string guest = config.guest_ip.to_string() + "/" + std::to_string(config.prefix);
  std::string gateway = config.gateway_ip.to_string();
  std::filesystem::create_directories("/etc/netns/" + ns.name());
  std::ofstream("/etc/netns/" + ns.name() + "/resolv.conf")
      << "nameserver " << gateway << "\noptions attempts:2 timeout:2\n";
  if (run({"ip", "link", "set", tap_name, "netns", ns.name()}) != 0 || !ns.exec({"ip", "link", "set", "lo", "up"}) ||
      !ns.exec({"ip", "link", "set", tap_name, "mtu", std::to_string(opt.mtu), "address", "52:54:00:12:34:56",
                "txqueuelen", "10000", "up"}) ||
      !ns.exec({"ip", "addr", "add", guest, "dev", tap_name}) ||
      !ns.exec({"ip", "route", "add", "default", "via", gateway}) ||
      !ns.exec({"sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"}))
    return 2;
  double link_loss = 0;
  if (!opt.loss.empty() && !ns.exec({"tc", "qdisc", "add", "dev", tap_name, "root", "netem", "loss", opt.loss + "%"})) {
    link_loss = std::stod(opt.loss) / 100;
    std::cerr << "net_rig: netem unavailable in this kernel; dropping " << opt.loss
              << "% of frames in the rig's link instead, both directions\n";
  }

  config.name_allowed = [allow = opt.allow](std::string_view name) { return allow.count(std::string(name)) > 0; };
  config.admit_flow = [refuse = opt.refuse](const net::FlowInfo& info) { return refuse.count(info.dst_port) == 0; };
  auto names = std::make_shared<net::NameMap>();
  test_net::Splicer splicer;
  std::mutex log_mutex;
  std::ofstream flow_log;
  if (!opt.flow_log.empty()) flow_log.open(opt.flow_log, std::ios::app);
  auto on_flow = [&](const net::FlowInfo& info, util::Fd stream) {
    if (flow_log.is_open()) {
      std::lock_guard lock(log_mutex);
      flow_log << info.dst_ip.to_string() << " " << info.dst_port << " "
               << (info.dst_name.empty() ? "-" : info.dst_name) << std::endl;
    }
    uint16_t port = info.dst_port;
    if (auto it = opt.port_map.find(port); it != opt.port_map.end()) port = it->second;
    splicer.add(std::move(stream), port);
  };
  auto link = net::make_tap_link(std::move(tap));
  if (!link) {
    std::cerr << "net_rig: " << link.error().message() << "\n";
    return 2;
  }
  std::unique_ptr<net::FrameLink> used = std::move(*link);
  if (link_loss > 0) used = std::make_unique<LossyLink>(std::move(used), link_loss);
  auto stack = net::Stack::create(std::move(config), std::move(used), names, on_flow);
  if (!stack || !(*stack)->start()) {
    std::cerr << "net_rig: cannot start the stack\n";
    return 2;
  }
  std::vector<std::string> cmd = {"ip", "netns", "exec", ns.name()};
  cmd.insert(cmd.end(), opt.command.begin(), opt.command.end());
  util::SpawnOptions spawn;
  spawn.argv = cmd;
  int status = 2;
  if (auto child = util::Child::spawn(spawn); child) {
    auto st = child->wait();
    status = st ? st->shell_code() : 2;
  } else {
    std::cerr << "net_rig: " << child.error().message() << "\n";
  }
  auto s = (*stack)->stats();
  (*stack)->stop();
  stack->reset();
  splicer.join_all();
  if (getenv("NET_RIG_STATS"))
    std::cerr << "net_rig: frames in " << s.frames_in << " out " << s.frames_out << " dropped " << s.frames_dropped
              << ", flows " << s.flows_accepted << " refused " << s.flows_refused << ", retransmits " << s.retransmits
              << ", dns " << s.dns_queries << " (allowed " << s.dns_allowed << ", denied " << s.dns_denied << ")\n";
  return status;
}
