// VzVm: one Linux guest run by Apple's Virtualization.framework, in this process (macOS only;
// this header is plain C++, the implementation is Objective-C++ in vz_vm.mm, compiled only
// when CMake sees APPLE). EXPERIMENTAL: compiled and run on no machine of this project yet
// (docs/macos.md says what has and has not been shown).
//
// The machine: VZLinuxBootLoader (arm64 Image + our initramfs + command line),
// VZGenericPlatformConfiguration, virtio-blk disks (cached, fsync), an entropy device, a
// virtio console into a bounded console.log, one virtio-socket device carrying the agent
// protocol, and a virtio-net device on a VZFileHandleNetworkDeviceAttachment whose datagram
// socket feeds matchlock's own network stack (net::make_datagram_link). No VZ directory share:
// the workspace goes through matchlock's FUSE file server over the control channel.
//
// Threading: each VzVm owns one private serial dispatch queue; the VZVirtualMachine is created
// with it, and every call on it (start, stop, connect) runs on it, as are VZ's callbacks and
// the delegate. Callers block on a condition variable, never on the queue, so no method may be
// called from that queue (none of ours is).
//
// States (VZVirtualMachineDelegate -> poll_exit/diagnose):
//   guestDidStopVirtualMachine                     -> ended, ExitStatus{code 0}
//   virtualMachine:didStopWithError:               -> ended, ExitStatus{code 1}, reason "vz: ..."
//   networkDevice:attachmentWasDisconnected...     -> the VM is stopped (a sandbox without
//                                                     its policed NIC is not kept running),
//                                                     ExitStatus{code 1}, reason "vz: network ..."
//   kill() / wait_exit timeout                     -> stopWithCompletionHandler, ExitStatus{signal 9}
#pragma once

#include <memory>

#include "backends/vm.hpp"
#include "backends/vz/vz_spec.hpp"

namespace backends::vz {

class VzVm final : public Vm {
 public:
  // Checks SPEC (check_spec), builds and validates the configuration, starts the VM and waits
  // until VZ says it runs (or fails).
  static util::Result<std::unique_ptr<VzVm>> start(const VmSpec& spec);
  ~VzVm() override;
  VzVm(const VzVm&) = delete;
  VzVm& operator=(const VzVm&) = delete;

  util::Result<util::Fd> connect_control(std::chrono::milliseconds timeout) override;
  util::Result<std::optional<util::ExitStatus>> poll_exit() override;
  util::Result<util::ExitStatus> wait_exit(std::chrono::milliseconds timeout) override;
  void kill() override;
  std::filesystem::path console_log() const override;
  std::string diagnose() const override;

  struct Impl;  // vz_vm.mm

 private:
  explicit VzVm(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace backends::vz
