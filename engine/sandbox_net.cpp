#include "engine/sandbox_net.hpp"
#include "util/allocator.hpp"
#include "util/descriptors.hpp"

#include <sys/socket.h>

#include <cstdlib>

#include "engine/env_overrides.hpp"
#include "net/frame_link.hpp"

namespace engine {

namespace {

// The NIC's MTU: the largest the stack and QEMU's stream framing carry. Measured under TCG
// (64 MiB download, Debian curl): 57 MB/s at 65520 vs 25 MB/s at 1500 (docs/network.md).
constexpr uint32_t k_nic_mtu = 65520;

// MATCHLOCK_NET_MTU overrides the NIC's MTU (576..65520; benchmarks). machine_spec has
// already refused a malformed value.
uint32_t chosen_mtu(uint32_t fallback) {
  const auto& env = env_overrides();
  return env && env->net_mtu ? *env->net_mtu : fallback;
}

}  // namespace

std::vector<std::string> network_exec_env(const std::map<std::string, std::string>& placeholders) {
  std::vector<std::string> env = {
      std::string("SSL_CERT_FILE=") + k_guest_ca_bundle,      std::string("CURL_CA_BUNDLE=") + k_guest_ca_bundle,
      std::string("REQUESTS_CA_BUNDLE=") + k_guest_ca_bundle, std::string("GIT_SSL_CAINFO=") + k_guest_ca_bundle,
      std::string("NODE_EXTRA_CA_CERTS=") + k_guest_ca_file,
  };
  for (const auto& [name, placeholder] : placeholders) env.push_back(name + "=" + placeholder);
  return env;
}

NicLink nic_link_for(Vmm vmm) {
  if (vmm == Vmm::Vz) return NicLink::Datagram;
  // Tests: QEMU's `-netdev dgram` carries VZ's framing, so the datagram path runs on Linux too.
  const auto& env = env_overrides();
  return env && env->nic_link == "datagram" ? NicLink::Datagram : NicLink::Stream;
}

util::Result<std::unique_ptr<SandboxNet>> SandboxNet::start(const util::Dirs& dirs, const Config& config,
                                                            std::string_view sandbox_name, NicLink nic) {
  // One malloc arena for the process that owns the network: each proxy flow runs on its own
  // thread, and glibc's per-thread arenas keep their top chunk resident after the threads
  // exit (malloc_trim does not release it), ~0.5 MiB per arena: +6 MiB that stayed after a
  // flood (tests/security/memory_flood.sh), +0.4 MiB with one arena.
  util::limit_malloc_arenas();
  std::unique_ptr<SandboxNet> sn(new SandboxNet());
  sn->m_network = ML_TRY_CTX(start_sandbox_network(dirs, config, config.network.ca, sandbox_name), "network");
  sn->m_exec_env = network_exec_env(sn->m_network.guest_env);

  int pair[2];
  const int type = nic == NicLink::Datagram ? SOCK_DGRAM : SOCK_STREAM;
  if (util::socketpair_cloexec(AF_UNIX, type, pair) < 0) return util::sys_error("socketpair (NIC)");
  util::Fd ours(pair[0]);
  sn->m_vm_end = util::Fd(pair[1]);
  sn->m_link = nic;
  std::unique_ptr<net::FrameLink> link;
  if (nic == NicLink::Datagram) {
    // Apple's rule for a VZFileHandleNetworkDeviceAttachment's socket: RCVBUF >= 2 x SNDBUF.
    for (int fd : pair) ML_TRY_CTX(net::set_datagram_buffers(fd), "NIC");
    link = ML_TRY_CTX(net::make_datagram_link(std::move(ours)), "NIC");
  } else {
    // Room for several maximal frames in flight each way.
    int buf = 4 * 1024 * 1024;
    for (int fd : pair) {
      ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    }
    link = ML_TRY_CTX(net::make_stream_link(std::move(ours)), "NIC");
  }

  // A datagram NIC carries what VZ's attachment does: 1500 (docs/macos.md).
  sn->m_stack_config.mtu =
      nic == NicLink::Datagram ? static_cast<uint32_t>(net::k_datagram_mtu) : chosen_mtu(k_nic_mtu);
  net::StackConfig cfg = sn->m_stack_config;
  cfg.name_allowed = sn->m_network.name_allowed;
  cfg.admit_flow = sn->m_network.proxy->admission();
  sn->m_stack = ML_TRY(net::Stack::create(std::move(cfg), std::move(link), std::make_shared<net::NameMap>(),
                                          sn->m_network.proxy->handler()));
  ML_TRY_CTX(sn->m_stack->start(), "network stack");
  return sn;
}

util::Result<std::unique_ptr<SandboxNet>> SandboxNet::offline(const SandboxNet& like) {
  std::unique_ptr<SandboxNet> sn(new SandboxNet());
  sn->m_stack_config = like.m_stack_config;
  sn->m_network.ca_pem = like.m_network.ca_pem;
  sn->m_link = like.m_link;
  int pair[2];
  const int type = like.m_link == NicLink::Datagram ? SOCK_DGRAM : SOCK_STREAM;
  if (util::socketpair_cloexec(AF_UNIX, type, pair) < 0) return util::sys_error("socketpair (offline NIC)");
  sn->m_offline_end = util::Fd(pair[0]);
  sn->m_vm_end = util::Fd(pair[1]);
  return sn;
}

SandboxNet::~SandboxNet() {
  if (m_stack) m_stack->stop();
  m_stack.reset();
}

protocol::NetConfig SandboxNet::guest_config() const {
  protocol::NetConfig n;
  n.enabled = true;
  n.address = m_stack_config.guest_ip.to_string();
  n.prefix = m_stack_config.prefix;
  n.gateway = m_stack_config.gateway_ip.to_string();
  n.mtu = m_stack_config.mtu;
  n.ca_pem = m_network.ca_pem;
  return n;
}

}  // namespace engine
