// SandboxNet: the network of one sandbox, owned by whoever boots it (`matchlock run`
// or the supervisor of `up`). One RAII object holds the proxy (policy, secrets, CA,
// audit; engine/net_setup.hpp), the net::Stack and its thread, and a socketpair whose
// other end becomes the VM's NIC: a stream socket with length-prefixed frames for QEMU
// (`-netdev stream,addr.type=fd`), a datagram socket with one frame per datagram for
// Virtualization.framework (VZFileHandleNetworkDeviceAttachment, MTU 1500). Needs no
// privileges: no TAP, no netns. Destruction stops the stack first, then the proxy.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend_choice.hpp"
#include "engine/config.hpp"
#include "engine/net_setup.hpp"
#include "guest/protocol/types.hpp"
#include "net/stack.hpp"
#include "util/fd.hpp"
#include "util/result.hpp"
#include "util/xdg.hpp"

namespace engine {

// Where the guest agent puts the sandbox CA (guest/agent/net_config.hpp).
inline constexpr const char* k_guest_ca_file = "/etc/matchlock/ca.pem";
// The image's trust bundle plus the sandbox CA (or the CA alone when the image has none).
inline constexpr const char* k_guest_ca_bundle = "/etc/matchlock/ca-bundle.pem";

// How frames cross the socketpair (net/frame_link.hpp).
enum class NicLink { Stream, Datagram };
// Datagram for vz; for qemu, stream unless MATCHLOCK_NIC_LINK=datagram (QEMU's `-netdev dgram`,
// which tests use to run VZ's framing through a real guest on Linux).
NicLink nic_link_for(Vmm vmm);

class SandboxNet {
 public:
  // Reads the secrets, creates the CA, opens the audit log <state>/sandboxes/SANDBOX_NAME/,
  // and starts the stack on one end of a fresh socketpair.
  static util::Result<std::unique_ptr<SandboxNet>> start(const util::Dirs& dirs, const Config& config,
                                                         std::string_view sandbox_name, NicLink link = NicLink::Stream);
  // A NIC with the same guest configuration (addresses, MTU, CA) as LIKE and no stack
  // behind it: frames from the guest go nowhere. For a VM booted only to save a memory
  // snapshot (engine/snapshot_after_up.hpp), which must have the same devices as the
  // sandboxes that resume it, and no way out.
  static util::Result<std::unique_ptr<SandboxNet>> offline(const SandboxNet& like);
  ~SandboxNet();
  SandboxNet(const SandboxNet&) = delete;
  SandboxNet& operator=(const SandboxNet&) = delete;

  // The VM's end of the link, for backends::qemu::VmSpec::net_fd (vz::VmSpec::net_fd); close it (vm_started)
  // once the VMM holds its copy, so a dead VMM shows as EOF on our end.
  int vm_fd() const { return m_vm_end.get(); }
  NicLink link() const { return m_link; }
  void vm_started() { m_vm_end.reset(); }

  // What the agent configures: address, prefix, gateway, MTU, CA.
  protocol::NetConfig guest_config() const;
  // "K=V" for every exec: the CA variables (SSL_CERT_FILE, NODE_EXTRA_CA_CERTS,
  // REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, GIT_SSL_CAINFO) and NAME=MATCHLOCK_SECRET_...
  // per secret. Never a secret's value.
  const std::vector<std::string>& exec_env() const { return m_exec_env; }
  // Secret files to write in the guest after boot (placeholders only; engine/secret_files.hpp).
  const std::vector<GuestSecretFile>& secret_files() const { return m_network.guest_files; }
  net::StackStats stats() const { return m_stack ? m_stack->stats() : net::StackStats{}; }

 private:
  SandboxNet() = default;
  net::StackConfig m_stack_config;
  SandboxNetwork m_network;  // the proxy: outlives the stack that calls it
  std::unique_ptr<net::Stack> m_stack;
  util::Fd m_vm_end;
  util::Fd m_offline_end;  // offline(): our end of the link, never read
  NicLink m_link = NicLink::Stream;
  std::vector<std::string> m_exec_env;
};

// The network's exec environment without a running stack (same entries as
// SandboxNet::exec_env): CA variables plus PLACEHOLDERS (name -> placeholder).
std::vector<std::string> network_exec_env(const std::map<std::string, std::string>& placeholders);

}  // namespace engine
