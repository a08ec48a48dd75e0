// proxy_harness: runs net::Proxy on loopback listeners so real clients (curl,
// openssl s_client) can be its guests without a VM or netstack. Each accepted TCP
// connection becomes a flow with the FlowInfo given for its listener.
//
//   proxy_harness --ready FILE [--audit FILE] [--ca-out FILE] [--extra-ca FILE]
//                 [--allow RULE]... [--deny RULE]... [--no-block-private]
//                 [--secret NAME=ENVVAR@RULE[,RULE...]]...  (value read from $ENVVAR)
//                 [--upstream NAME:PORT=ADDR:PORT]...
//                 --flow NAME,DSTIP,DSTPORT...            (NAME "-" = a raw-address flow)
// Writes FILE once listening: one line per --flow, "PORT", then "NAME=PLACEHOLDER" per secret.
// Stops on SIGTERM/SIGINT.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "net/proxy.hpp"
#include "util/atomic_file.hpp"

namespace {

struct Listen {
  util::Fd fd;
  uint16_t port = 0;
  net::FlowInfo info;
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "proxy_harness: %s\n", msg.c_str());
  std::exit(2);
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

Listen make_listener(const std::string& spec) {
  auto parts = split(spec, ',');
  if (parts.size() != 3) die("--flow NAME,DSTIP,DSTPORT: " + spec);
  Listen l;
  l.info.dst_name = parts[0] == "-" ? "" : parts[0];
  auto ip = net::parse_ipv4(parts[1]);
  if (!ip) die("bad address " + parts[1]);
  l.info.dst_ip = *ip;
  l.info.dst_port = static_cast<uint16_t>(std::stoi(parts[2]));
  l.info.guest_ip = *net::parse_ipv4("192.168.127.2");
  l.fd = util::Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(l.fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(l.fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(l.fd.get(), 64) != 0)
    die("listen failed");
  socklen_t len = sizeof sa;
  ::getsockname(l.fd.get(), reinterpret_cast<sockaddr*>(&sa), &len);
  l.port = ntohs(sa.sin_port);
  return l;
}

}  // namespace

int main(int argc, char** argv) {
  std::string ready, audit_path, ca_out, extra_ca;
  std::vector<net::Rule> allow, deny;
  auto block = net::BlockPrivate::Yes;
  std::vector<std::string> secret_specs, upstream_specs, flow_specs;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--ready")
      ready = next();
    else if (a == "--audit")
      audit_path = next();
    else if (a == "--ca-out")
      ca_out = next();
    else if (a == "--extra-ca")
      extra_ca = next();
    else if (a == "--allow" || a == "--deny") {
      auto r = net::parse_rule(next());
      if (!r) die(r.error().message());
      (a == "--allow" ? allow : deny).push_back(*r);
    } else if (a == "--no-block-private")
      block = net::BlockPrivate::No;
    else if (a == "--secret")
      secret_specs.push_back(next());
    else if (a == "--upstream")
      upstream_specs.push_back(next());
    else if (a == "--flow")
      flow_specs.push_back(next());
    else
      die("unknown option " + a);
  }
  if (ready.empty() || flow_specs.empty()) die("usage: see the comment at the top of proxy_harness.cpp");

  net::ProxyOptions opts;
  opts.policy = net::Policy(allow, deny, block);
  auto table = std::make_shared<net::SecretTable>();
  std::string ready_text;
  for (const auto& spec : secret_specs) {
    auto eq = spec.find('='), at = spec.find('@');
    if (eq == std::string::npos || at == std::string::npos || at < eq) die("--secret NAME=ENVVAR@HOSTS: " + spec);
    net::SecretBinding b;
    b.name = spec.substr(0, eq);
    const char* value = std::getenv(spec.substr(eq + 1, at - eq - 1).c_str());
    if (!value) die("environment variable for secret " + b.name + " is not set");
    b.value = value;
    for (const auto& h : split(spec.substr(at + 1), ',')) b.hosts.push_back(net::parse_rule(h).value());
    b.placeholder = net::generate_placeholder().value();
    opts.policy.add_secret_hosts(b.name, b.hosts);
    ready_text += b.name + "=" + b.placeholder + "\n";
    table->add(std::move(b));
  }
  opts.secrets = table;
  auto ca = net::SandboxCa::create("harness");
  if (!ca) die(ca.error().message());
  opts.ca = std::move(*ca);
  if (!ca_out.empty()) {
    auto w = util::write_file_atomic(ca_out, opts.ca->cert_pem());
    if (!w) die(w.error().message());
  }
  opts.extra_ca_file = extra_ca;
  if (!audit_path.empty()) {
    auto audit = net::Audit::open(audit_path);
    if (!audit) die(audit.error().message());
    opts.audit = std::make_shared<net::Audit>(std::move(*audit));
  }
  for (const auto& spec : upstream_specs) {
    // NAME:PORT=ADDR:PORT
    auto eq = spec.find('=');
    auto left = spec.substr(0, eq), right = spec.substr(eq + 1);
    net::UpstreamOverride o;
    o.name = left.substr(0, left.rfind(':'));
    o.port = static_cast<uint16_t>(std::stoi(left.substr(left.rfind(':') + 1)));
    o.address = net::parse_ipv4(right.substr(0, right.rfind(':'))).value();
    o.to_port = static_cast<uint16_t>(std::stoi(right.substr(right.rfind(':') + 1)));
    opts.upstream_overrides.push_back(o);
  }
  auto proxy = net::Proxy::create(std::move(opts));
  if (!proxy) die(proxy.error().message());

  std::vector<Listen> listeners;
  std::string ports;
  for (const auto& spec : flow_specs) {
    listeners.push_back(make_listener(spec));
    ports += std::to_string(listeners.back().port) + "\n";
  }
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  util::Fd sig(::signalfd(-1, &mask, SFD_CLOEXEC));
  auto w = util::write_file_atomic(ready, ports + ready_text);
  if (!w) die(w.error().message());

  while (true) {
    std::vector<pollfd> fds;
    for (const auto& l : listeners) fds.push_back({l.fd.get(), POLLIN, 0});
    fds.push_back({sig.get(), POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds.back().revents) break;
    for (size_t i = 0; i < listeners.size(); ++i) {
      if (!fds[i].revents) continue;
      sockaddr_in peer{};
      socklen_t len = sizeof peer;
      util::Fd conn(::accept4(listeners[i].fd.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
      if (!conn) continue;
      net::FlowInfo info = listeners[i].info;
      info.guest_port = ntohs(peer.sin_port);
      (*proxy)->handle(info, std::move(conn));
    }
  }
  return 0;  // ~Proxy shuts every flow down and joins
}
