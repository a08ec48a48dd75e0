// VzVm (vz_vm.hpp): Virtualization.framework, Objective-C++ with ARC (-fobjc-arc).
// EXPERIMENTAL: compiled on no machine of this project yet; reviewed against Apple's headers
// (macOS 12-14 SDKs) and the VZ code of Lima, Code-Hex/vz and apple/container (docs/macos.md).
#import <Foundation/Foundation.h>
#import <Virtualization/Virtualization.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "backends/qemu/console_log.hpp"
#include "backends/vz/vz_vm.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace backends::vz {

namespace {

using namespace std::chrono_literals;

// The VM's life as the engine sees it. Written on the VM's queue (delegate, completion
// handlers), read by the engine's threads.
struct State {
  std::mutex mutex;
  std::condition_variable changed;
  bool start_done = false;  // startWithCompletionHandler answered
  bool started = false;     // ... and said yes
  std::string start_error;
  std::optional<util::ExitStatus> exit;  // set once the guest has ended
  std::string reason;                    // the VZ error that ended it, "vz: ..."

  void end(util::ExitStatus status, std::string why) {
    std::lock_guard lock(mutex);
    if (exit) return;
    exit = status;
    if (reason.empty()) reason = std::move(why);
    changed.notify_all();
  }
};

std::string describe(NSError* error) {
  if (!error) return "unknown error";
  std::string s = error.localizedDescription ? error.localizedDescription.UTF8String : "error";
  NSError* under = error.userInfo[NSUnderlyingErrorKey];
  if (under && under.localizedDescription) s += std::string(" (") + under.localizedDescription.UTF8String + ")";
  return s + " [" + (error.domain ? error.domain.UTF8String : "?") + " " + std::to_string(error.code) + "]";
}

util::Error vz_error(const std::string& what, NSError* error) {
  return util::make_error(util::ErrorCode::Io, "vz: " + what + ": " + describe(error));
}

NSString* ns(const std::string& s) { return [NSString stringWithUTF8String:s.c_str()]; }
NSURL* file_url(const std::filesystem::path& p) { return [NSURL fileURLWithPath:ns(p.string())]; }

// A dup of FD, close-on-exec, owned by the returned NSFileHandle (closed when VZ releases it).
util::Result<NSFileHandle*> handle_for(int fd, const char* what) {
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return util::sys_error(std::string("dup ") + what);
  return [[NSFileHandle alloc] initWithFileDescriptor:copy closeOnDealloc:YES];
}

}  // namespace

}  // namespace backends::vz

// The delegate: VZ calls it on the VM's queue. It holds the state weakly through a shared_ptr
// copy, so a callback that races ~VzVm writes into a State that is still alive.
@interface MLVzDelegate : NSObject <VZVirtualMachineDelegate>
- (instancetype)initWithState:(std::shared_ptr<backends::vz::State>)state;
@end

@implementation MLVzDelegate {
  std::shared_ptr<backends::vz::State> _state;
}

- (instancetype)initWithState:(std::shared_ptr<backends::vz::State>)state {
  if ((self = [super init])) _state = std::move(state);
  return self;
}

- (void)guestDidStopVirtualMachine:(VZVirtualMachine*)virtualMachine {
  (void)virtualMachine;
  _state->end(util::ExitStatus{0, 0}, "");
}

- (void)virtualMachine:(VZVirtualMachine*)virtualMachine didStopWithError:(NSError*)error {
  (void)virtualMachine;
  _state->end(util::ExitStatus{1, 0}, "vz: the VM stopped: " + backends::vz::describe(error));
}

// The NIC's datagram socket failed (our network stack's end closed, or VZ gave up on it).
// A sandbox whose only network path is gone is stopped, loudly, rather than left running.
- (void)virtualMachine:(VZVirtualMachine*)virtualMachine
                         networkDevice:(VZNetworkDevice*)networkDevice
    attachmentWasDisconnectedWithError:(NSError*)error API_AVAILABLE(macos(12.0)) {
  (void)networkDevice;
  std::string why = "vz: network attachment disconnected: " + backends::vz::describe(error);
  util::log::warn(why + "; stopping the VM");
  {
    std::lock_guard lock(_state->mutex);
    if (_state->reason.empty()) _state->reason = why;
  }
  if (virtualMachine.canStop) {
    auto state = _state;
    [virtualMachine stopWithCompletionHandler:^(NSError* stop_error) {
      (void)stop_error;
      state->end(util::ExitStatus{1, 0}, why);
    }];
  } else {
    _state->end(util::ExitStatus{1, 0}, why);
  }
}
@end

namespace backends::vz {

struct VzVm::Impl {
  std::filesystem::path state_dir;
  uint32_t control_port = 0;
  dispatch_queue_t queue = nil;
  VZVirtualMachine* vm = nil;
  MLVzDelegate* delegate = nil;  // VZVirtualMachine.delegate is weak: we keep it alive
  std::shared_ptr<State> state = std::make_shared<State>();
  std::unique_ptr<qemu::ConsoleLog> console;  // destroyed after the VM is released (~VzVm)

  // Runs BODY on the VM's queue and waits for it (never called on that queue).
  void on_queue(void (^body)(void)) { dispatch_sync(queue, body); }
};

namespace {

util::Result<VZVirtualMachineConfiguration*> build_configuration(const VmSpec& spec, VzVm::Impl& impl) {
  VZVirtualMachineConfiguration* config = [[VZVirtualMachineConfiguration alloc] init];

  VZLinuxBootLoader* boot = [[VZLinuxBootLoader alloc] initWithKernelURL:file_url(spec.kernel)];
  boot.initialRamdiskURL = file_url(spec.initramfs);
  boot.commandLine = ns(kernel_cmdline(spec));
  config.bootLoader = boot;
  config.platform = [[VZGenericPlatformConfiguration alloc] init];

  uint64_t memory = spec.memory_mib << 20;
  if (memory < VZVirtualMachineConfiguration.minimumAllowedMemorySize ||
      memory > VZVirtualMachineConfiguration.maximumAllowedMemorySize)
    return util::make_error(util::ErrorCode::Usage,
                            "vz: memory " + std::to_string(spec.memory_mib) + " MiB is outside this Mac's range " +
                                std::to_string(VZVirtualMachineConfiguration.minimumAllowedMemorySize >> 20) + "-" +
                                std::to_string(VZVirtualMachineConfiguration.maximumAllowedMemorySize >> 20) + " MiB");
  NSUInteger cpus = static_cast<NSUInteger>(spec.cpus);
  if (cpus < VZVirtualMachineConfiguration.minimumAllowedCPUCount ||
      cpus > VZVirtualMachineConfiguration.maximumAllowedCPUCount)
    return util::make_error(util::ErrorCode::Usage,
                            "vz: cpus " + std::to_string(spec.cpus) + " is outside this Mac's range " +
                                std::to_string(VZVirtualMachineConfiguration.minimumAllowedCPUCount) + "-" +
                                std::to_string(VZVirtualMachineConfiguration.maximumAllowedCPUCount));
  config.CPUCount = cpus;
  config.memorySize = memory;

  // Disks: cached + fsync. `Automatic` caching corrupted ext4 guests for Lima and UTM; fsync
  // gives the guest's flushes fsync() semantics (not F_FULLFSYNC: a sandbox's disks are
  // rebuilt, not precious).
  NSMutableArray<VZStorageDeviceConfiguration*>* disks = [NSMutableArray array];
  for (const Disk& d : spec.disks) {
    NSError* error = nil;
    auto* attachment = [[VZDiskImageStorageDeviceAttachment alloc] initWithURL:file_url(d.path)
                                                                      readOnly:d.access == DiskAccess::ReadOnly
                                                                   cachingMode:VZDiskImageCachingModeCached
                                                           synchronizationMode:VZDiskImageSynchronizationModeFsync
                                                                         error:&error];
    if (!attachment) return vz_error("disk " + d.path.string(), error);
    auto* blk = [[VZVirtioBlockDeviceConfiguration alloc] initWithAttachment:attachment];
    if (![VZVirtioBlockDeviceConfiguration validateBlockDeviceIdentifier:ns(d.serial) error:&error])
      return vz_error("disk serial \"" + d.serial + "\"", error);
    blk.blockDeviceIdentifier = ns(d.serial);
    [disks addObject:blk];
  }
  config.storageDevices = disks;

  config.entropyDevices = @[ [[VZVirtioEntropyDeviceConfiguration alloc] init] ];

  // The console: hvc0 into a socketpair that ConsoleLog drains into a bounded console.log
  // (the guest decides how much it prints). No input: nothing reads the guest's console.
  impl.console = ML_TRY_CTX(qemu::ConsoleLog::start(spec.state_dir / k_console_log), "vz console");
  NSFileHandle* console_out = ML_TRY(handle_for(impl.console->qemu_end(), "console"));
  impl.console->release_qemu_end();
  auto* console = [[VZVirtioConsoleDeviceSerialPortConfiguration alloc] init];
  console.attachment = [[VZFileHandleSerialPortAttachment alloc] initWithFileHandleForReading:nil
                                                                         fileHandleForWriting:console_out];
  config.serialPorts = @[ console ];

  // The control channel: one virtio-socket device (VZ allows one); the agent listens on
  // spec.control_port, connect_control dials it.
  config.socketDevices = @[ [[VZVirtioSocketDeviceConfiguration alloc] init] ];

  // The NIC: one Ethernet frame per datagram on our socketpair (net::make_datagram_link).
  if (spec.net_fd >= 0) {
    NSFileHandle* net_handle = ML_TRY(handle_for(spec.net_fd, "NIC"));
    auto* attachment = [[VZFileHandleNetworkDeviceAttachment alloc] initWithFileHandle:net_handle];
    if (@available(macOS 13.0, *)) attachment.maximumTransmissionUnit = 1500;  // the default, stated
    auto* nic = [[VZVirtioNetworkDeviceConfiguration alloc] init];
    nic.attachment = attachment;
    VZMACAddress* mac = [[VZMACAddress alloc] initWithString:ns(spec.net_mac)];
    if (!mac) return util::make_error(util::ErrorCode::Usage, "vz: bad MAC address " + spec.net_mac);
    nic.MACAddress = mac;
    config.networkDevices = @[ nic ];
  }
  // Deliberately absent: directorySharingDevices (VZ's virtio-fs would bypass the workspace
  // file server's exclude and escape checks), graphics, audio, USB, keyboards, pointers.

  NSError* error = nil;
  if (![config validateWithError:&error]) return vz_error("configuration invalid", error);
  return config;
}

}  // namespace

VzVm::VzVm(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

util::Result<std::unique_ptr<VzVm>> VzVm::start(const VmSpec& spec) {
  ML_TRY(check_spec(spec));
  if (!VZVirtualMachine.isSupported)
    return util::make_error(util::ErrorCode::Unsupported,
                            "vz: VZVirtualMachine.isSupported is false on this Mac (nested virtualization, or no "
                            "hardware support); `matchlock doctor` says more");
  auto impl = std::make_unique<Impl>();
  impl->state_dir = spec.state_dir;
  impl->control_port = spec.control_port;
  impl->queue = dispatch_queue_create("dev.matchlock.vz", DISPATCH_QUEUE_SERIAL);
  VZVirtualMachineConfiguration* config = nil;
  @autoreleasepool {
    config = ML_TRY(build_configuration(spec, *impl));
  }
  std::unique_ptr<VzVm> vm(new VzVm(std::move(impl)));
  Impl& m = *vm->m_impl;
  m.delegate = [[MLVzDelegate alloc] initWithState:m.state];
  auto state = m.state;
  Impl* mp = &m;
  m.on_queue(^{
    mp->vm = [[VZVirtualMachine alloc] initWithConfiguration:config queue:mp->queue];
    mp->vm.delegate = mp->delegate;
    [mp->vm startWithCompletionHandler:^(NSError* error) {
      std::lock_guard lock(state->mutex);
      state->start_done = true;
      state->started = error == nil;
      if (error) state->start_error = describe(error);
      state->changed.notify_all();
    }];
  });
  std::unique_lock lock(state->mutex);
  if (!state->changed.wait_for(lock, 60s, [&] { return state->start_done; }))
    return util::make_error(util::ErrorCode::Guest, "vz: the VM did not start within 60 s");
  if (!state->started) return util::make_error(util::ErrorCode::Io, "vz: start: " + state->start_error);
  return vm;
}

VzVm::~VzVm() {
  kill();
  // Release the VM on its queue; VZ then closes the console's and the NIC's file handles.
  Impl* mp = m_impl.get();
  mp->on_queue(^{
    mp->vm.delegate = nil;
    mp->vm = nil;
  });
  Impl& m = *mp;
  m.delegate = nil;
  m.console.reset();  // shuts our end down if VZ still holds its own, joins the drain thread
}

util::Result<util::Fd> VzVm::connect_control(std::chrono::milliseconds timeout) {
  Impl& m = *m_impl;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last_error = "no attempt";
  for (;;) {
    if (auto ended = ML_TRY(poll_exit()); ended) {
      std::string why = diagnose();
      return util::make_error(util::ErrorCode::Guest,
                              "the VM " + ended->describe() + " before the agent listened on vsock port " +
                                  std::to_string(m.control_port) + (why.empty() ? "" : ": " + why));
    }
    // One attempt: connectToPort fails at once while the agent is not listening yet.
    struct Attempt {
      std::mutex mutex;
      std::condition_variable done_cv;
      bool done = false;
      int fd = -1;
      std::string error;
    };
    auto attempt = std::make_shared<Attempt>();
    uint32_t port = m.control_port;
    Impl* mp = &m;
    m.on_queue(^{
      VZVirtioSocketDevice* device = (VZVirtioSocketDevice*)mp->vm.socketDevices.firstObject;
      if (!device) {
        std::lock_guard lock(attempt->mutex);
        attempt->error = "the VM has no virtio-socket device";
        attempt->done = true;
        attempt->done_cv.notify_all();
        return;
      }
      [device connectToPort:port
          completionHandler:^(VZVirtioSocketConnection* connection, NSError* error) {
            std::lock_guard lock(attempt->mutex);
            if (connection) {
              // The connection owns its descriptor and closes it with itself: keep a dup.
              attempt->fd = ::fcntl(connection.fileDescriptor, F_DUPFD_CLOEXEC, 0);
              if (attempt->fd < 0) attempt->error = std::string("dup vsock fd: ") + std::strerror(errno);
              [connection close];
            } else {
              attempt->error = describe(error);
            }
            attempt->done = true;
            attempt->done_cv.notify_all();
          }];
    });
    {
      std::unique_lock lock(attempt->mutex);
      attempt->done_cv.wait_for(lock, 5s, [&] { return attempt->done; });
      if (attempt->fd >= 0) return util::Fd(attempt->fd);
      if (attempt->done)
        last_error = attempt->error;
      else
        last_error = "connectToPort gave no answer within 5 s";
    }
    if (std::chrono::steady_clock::now() > deadline)
      return util::make_error(util::ErrorCode::Guest, "vz: could not connect to the agent on vsock port " +
                                                          std::to_string(m.control_port) + ": " + last_error);
    std::this_thread::sleep_for(20ms);
  }
}

util::Result<std::optional<util::ExitStatus>> VzVm::poll_exit() {
  std::lock_guard lock(m_impl->state->mutex);
  return m_impl->state->exit;
}

util::Result<util::ExitStatus> VzVm::wait_exit(std::chrono::milliseconds timeout) {
  {
    std::unique_lock lock(m_impl->state->mutex);
    if (m_impl->state->changed.wait_for(lock, timeout, [&] { return m_impl->state->exit.has_value(); }))
      return *m_impl->state->exit;
  }
  kill();
  std::lock_guard lock(m_impl->state->mutex);
  return m_impl->state->exit.value_or(util::ExitStatus{0, SIGKILL});
}

void VzVm::kill() {
  Impl& m = *m_impl;
  auto state = m.state;
  {
    std::lock_guard lock(state->mutex);
    if (state->exit || !state->started) return;
  }
  __block bool asked = false;
  Impl* mp = &m;
  m.on_queue(^{
    if (mp->vm && mp->vm.canStop) {
      asked = true;
      [mp->vm stopWithCompletionHandler:^(NSError* error) {
        state->end(util::ExitStatus{0, SIGKILL}, error ? "vz: stop: " + describe(error) : "");
      }];
    }
  });
  std::unique_lock lock(state->mutex);
  if (asked) state->changed.wait_for(lock, 10s, [&] { return state->exit.has_value(); });
  if (!state->exit) {
    state->exit = util::ExitStatus{0, SIGKILL};
    if (state->reason.empty()) state->reason = "vz: the VM could not be stopped (state not stoppable)";
    state->changed.notify_all();
  }
}

std::filesystem::path VzVm::console_log() const { return m_impl->state_dir / k_console_log; }

std::string VzVm::diagnose() const {
  if (auto console = util::read_file(console_log()))
    if (auto why = console_diagnosis(*console); !why.empty()) return why;
  std::lock_guard lock(m_impl->state->mutex);
  return m_impl->state->reason;
}

}  // namespace backends::vz
