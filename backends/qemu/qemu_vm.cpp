#include "backends/qemu/qemu_vm.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "backends/qemu/host_tsc.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"

namespace backends::qemu {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// QEMU option values escape ',' as ",,".
std::string escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

}  // namespace

const char* to_string(Accel accel) { return accel == Accel::Kvm ? "kvm" : "tcg"; }

std::vector<std::string> qemu_argv(const VmSpec& spec) {
  const Machine& m = machine_for(spec.arch);
  std::string cmdline = m.cmdline;
  if (spec.accel == Accel::Tcg && m.tcg_tsc)
    cmdline += std::string(" ") + k_tcg_cmdline + std::to_string(spec.tsc_khz ? spec.tsc_khz : 2'000'000);
  if (!spec.extra_cmdline.empty()) cmdline += " " + spec.extra_cmdline;
  uint64_t memory_mib =
      m.microvm_firmware ? guest_memory_mib(spec.memory_mib, spec.firmware ? spec.firmware->kind : FirmwareKind::Other)
                         : spec.memory_mib;
  std::vector<std::string> a = {
      qemu_binary(spec.arch).string(),
      "-M",
      std::string(m.machine) +
          (spec.vhost_fs.empty() && spec.ram_fd < 0 && spec.ram_snapshot.empty() ? "" : ",memory-backend=ram"),
      "-accel",
      to_string(spec.accel),
      "-cpu",
      spec.accel == Accel::Kvm ? "host" : m.tcg_cpu,
      "-smp",
      std::to_string(spec.cpus),
      "-m",
      std::to_string(memory_mib) + "M",
      "-nodefaults",
      "-no-user-config",
      "-display",
      "none",
      "-no-reboot",
      "-kernel",
      spec.kernel.string(),
      "-initrd",
      spec.initramfs.string(),
      "-append",
      cmdline,
      "-chardev",
      spec.console_fd >= 0 ? "socket,id=console,fd=" + std::to_string(spec.console_fd)
                           : std::string("file,id=console,path=") + k_console_log,
      "-serial",
      "chardev:console",
  };
  if (m.microvm_firmware && spec.firmware && !spec.firmware->bios.empty())
    a.insert(a.end(), {"-bios", spec.firmware->bios.string()});
  std::string ram_size = "size=" + std::to_string(memory_mib) + "M";
  if (spec.ram_fd >= 0)
    a.insert(a.end(), {"-object", "memory-backend-file,id=ram,share=on," + ram_size + ",mem-path=/proc/self/fd/" +
                                      std::to_string(spec.ram_fd)});
  else if (!spec.ram_snapshot.empty())
    a.insert(a.end(),
             {"-object",
              "memory-backend-file,id=ram,share=off," + ram_size + ",mem-path=" + escape(spec.ram_snapshot.string()),
              "-incoming", "defer"});
  else if (!spec.vhost_fs.empty())
    a.insert(a.end(), {"-object", "memory-backend-memfd,id=ram,share=on," + ram_size});
  if (spec.qmp) a.insert(a.end(), {"-qmp", std::string("unix:") + k_qmp_socket + ",server=on,wait=off"});
  for (size_t i = 0; i < spec.vhost_fs.size(); ++i) {
    std::string id = "vfs" + std::to_string(i);
    a.insert(a.end(), {"-chardev", "socket,id=" + id + ",fd=" + std::to_string(spec.vhost_fs[i].fd), "-device",
                       m.virtio("vhost-user-fs") + ",chardev=" + id + ",tag=" + escape(spec.vhost_fs[i].tag) +
                           ",queue-size=" + std::to_string(k_virtiofs_queue_size)});
  }
  for (size_t i = 0; i < spec.disks.size(); ++i) {
    const Disk& d = spec.disks[i];
    std::string id = "disk" + std::to_string(i);
    std::string drive = "id=" + id + ",file=" + escape(d.path.string()) + ",format=raw,if=none";
    drive += d.access == DiskAccess::ReadOnly ? ",readonly=on" : ",discard=unmap";
    a.insert(a.end(), {"-drive", drive, "-device", m.virtio("virtio-blk") + ",drive=" + id + ",serial=" + d.serial});
  }
  if (spec.net_fd >= 0) {
    const std::string fd = std::to_string(spec.net_fd);
    a.insert(a.end(),
             {"-netdev",
              spec.net_framing == NetFraming::Datagram ? "dgram,id=net0,local.type=fd,local.str=" + fd
                                                       : "stream,id=net0,server=off,addr.type=fd,addr.str=" + fd,
              "-device", m.virtio("virtio-net") + ",netdev=net0,mac=" + spec.net_mac});
  }
  if (!spec.bench_9p_dir.empty()) {
    a.insert(a.end(), {"-fsdev", "local,id=fs9,path=" + escape(spec.bench_9p_dir.string()) + ",security_model=none",
                       "-device", m.virtio("virtio-9p") + ",fsdev=fs9,mount_tag=" + k_bench_9p_tag});
  }
  if (spec.control == ControlPort::VirtioSerial) {
    a.insert(a.end(), {"-device", m.virtio("virtio-serial"), "-chardev",
                       std::string("socket,id=ctl,path=") + k_control_socket + ",server=on,wait=off", "-device",
                       "virtserialport,chardev=ctl,name=matchlock.ctl"});
  }
  return a;
}

util::Result<QemuVm> QemuVm::start(const VmSpec& spec_in) {
  QemuHost host = spec_in.host ? *spec_in.host : ML_TRY(probe_qemu_host(spec_in.arch));
  VmSpec spec = spec_in;
  if (spec.firmware) host.firmware = *spec.firmware;
  spec.firmware = host.firmware;
  if (spec.accel == Accel::Tcg && spec.tsc_khz == 0 && machine_for(spec.arch).tcg_tsc)
    spec.tsc_khz = tcg_guest_tsc_khz();
  util::log::debug("qemu " + host.binary.string() + " (" + host.version_line + "); firmware " +
                   host.firmware.describe() + "; guest " + to_string(spec.arch) + ", RAM " +
                   std::to_string(guest_memory_mib(spec.memory_mib, host.firmware.kind)) + " MiB");
  ::unlink((spec.state_dir / k_control_socket).c_str());
  ::unlink((spec.state_dir / k_qmp_socket).c_str());
  util::Fd log = ML_TRY(util::open_fd(spec.state_dir / k_qemu_log, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  util::Fd null = ML_TRY(util::open_fd("/dev/null", O_RDWR));
  auto console = ML_TRY(ConsoleLog::start(spec.state_dir / k_console_log));
  spec.console_fd = console->qemu_end();
  util::SpawnOptions o;
  o.argv = qemu_argv(spec);
  o.cwd = spec.state_dir;
  o.stdin_fd = null.get();
  o.stdout_fd = log.get();
  o.stderr_fd = log.get();
  o.keep_fds.push_back(spec.console_fd);
  if (spec.net_fd >= 0) o.keep_fds.push_back(spec.net_fd);
  if (spec.ram_fd >= 0) o.keep_fds.push_back(spec.ram_fd);
  if (spec.incoming_fd >= 0) o.keep_fds.push_back(spec.incoming_fd);
  for (const auto& v : spec.vhost_fs) o.keep_fds.push_back(v.fd);
  o.die_with_parent = util::DieWithParent::Yes;
  o.new_session = util::NewSession::Yes;  // a terminal's Ctrl-C goes to us, not to QEMU
  util::Child child = ML_TRY_CTX(util::Child::spawn(o), "start qemu");
  console->release_qemu_end();
  return QemuVm(std::move(child), spec.state_dir, std::move(host), std::move(console));
}

void QemuVm::exited(util::ExitStatus status) {
  m_exit = status;
  if (m_console) m_console->finish();  // QEMU's end is closed: the file is complete
}

util::Result<Qmp> QemuVm::connect_qmp(std::chrono::milliseconds timeout) {
  auto q = Qmp::connect(m_state_dir / k_qmp_socket, timeout);
  if (!q) {
    std::string why = diagnose();
    return std::move(q).error().context(why.empty() ? "qemu monitor" : "qemu monitor (" + why + ")");
  }
  return q;
}

util::Result<util::Fd> QemuVm::connect_control(std::chrono::milliseconds timeout) {
  fs::path path = m_state_dir / k_control_socket;
  util::Fd dir;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string name = path.string();
  if (name.size() >= sizeof addr.sun_path) {  // long state dirs: reach the socket through an fd
    dir = ML_TRY(util::open_fd(m_state_dir, O_PATH | O_DIRECTORY));
    name = "/proc/self/fd/" + std::to_string(dir.get()) + "/" + k_control_socket;
  }
  std::memcpy(addr.sun_path, name.c_str(), name.size() + 1);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    util::Fd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!sock) return util::sys_error("socket");
    if (util::retry_eintr([&] { return ::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr); }) == 0)
      return sock;
    int err = errno;
    if (err != ENOENT && err != ECONNREFUSED) return util::sys_error_code(err, "connect", path);
    auto exited = ML_TRY(poll_exit());
    if (exited) {
      std::string why = diagnose();
      return util::make_error(
          util::ErrorCode::Guest,
          "qemu " + exited->describe() + " before its control socket appeared" + (why.empty() ? "" : ": " + why));
    }
    if (std::chrono::steady_clock::now() > deadline)
      return util::make_error(util::ErrorCode::Guest, "qemu did not create " + path.string() + " in time");
    std::this_thread::sleep_for(5ms);
  }
}

util::Result<std::optional<util::ExitStatus>> QemuVm::poll_exit() {
  if (m_exit) return m_exit;
  if (!m_child.running()) return std::optional<util::ExitStatus>{};
  auto st = ML_TRY(m_child.try_wait());
  if (st) exited(*st);
  return st;
}

util::Result<util::ExitStatus> QemuVm::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto st = ML_TRY(poll_exit());
    if (st) return *st;
    if (!m_child.running()) return util::ExitStatus{};
    if (std::chrono::steady_clock::now() > deadline) {
      m_child.signal(SIGKILL);
      auto killed = ML_TRY(m_child.wait());
      exited(killed);
      return killed;
    }
    std::this_thread::sleep_for(5ms);
  }
}

void QemuVm::kill() {
  if (!m_child.running()) return;
  m_child.signal(SIGKILL);
  if (auto st = m_child.wait()) exited(*st);
}

std::string QemuVm::diagnose() const {
  auto console = util::read_file(m_state_dir / k_console_log);
  if (console)
    if (auto why = console_diagnosis(*console); !why.empty()) return why;
  auto log = util::read_file(m_state_dir / k_qemu_log);
  if (log && !log->empty()) {
    std::string text = *log;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    auto nl = text.rfind('\n');
    return "qemu: " + (nl == std::string::npos ? text : text.substr(nl + 1));
  }
  return {};
}

}  // namespace backends::qemu
