#include "engine/sandbox_snapshot.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "engine/layer_store.hpp"
#include "engine/task_layers.hpp"
#include "guest/protocol/types.hpp"
#include "util/log.hpp"
#include "util/sha256.hpp"

namespace engine {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr auto k_save_timeout = 120s;

// Size, mtime and inode: a file replaced or rewritten in place changes it.
std::string file_identity(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) < 0) return p.string() + ":missing";
  return p.string() + ":" + std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_ino);
}

int version_major(const std::string& version) {
  try {
    return version.empty() ? 0 : std::stoi(version);
  } catch (...) {
    return 0;
  }
}

}  // namespace

std::string snapshot_unsupported_reason(const backends::qemu::QemuHost& host) {
  if (host.version.empty())
    return "the version of " + host.binary.string() + " is unknown ('" + host.version_line + "')";
  if (version_major(host.version) < 4)
    return "QEMU " + host.version + " has no x-ignore-shared migration (needs 4.0 or newer)";
  return {};
}

util::Result<MemorySnapshotInputs> snapshot_inputs(const backends::qemu::VmSpec& vm,
                                                   const backends::KernelBundle& kernel, const fs::path& agent,
                                                   const backends::qemu::QemuHost& host,
                                                   const std::vector<std::string>& layer_keys, uint64_t disk_bytes) {
  MemorySnapshotInputs in;
  in.rootfs_sha256 = "";
  for (const auto& d : vm.disks)
    if (d.serial == "ml-image") in.rootfs_sha256 = ML_TRY_CTX(rootfs_sha256(d.path), "memory snapshot key");
  in.layers = layer_keys;
  in.kernel_sha256 = kernel.digest + ";" + file_identity(kernel.vmlinuz);
  in.initramfs_sha256 = vm.initramfs.stem().string() + ";" + file_identity(vm.initramfs);
  in.agent_sha256 = ML_TRY_CTX(util::sha256_file(agent), "guest agent");
  in.arch = to_string(vm.arch);
  const auto& m = backends::qemu::machine_for(vm.arch);
  in.machine = std::string(m.machine) + " -cpu " + (vm.accel == backends::qemu::Accel::Kvm ? "host" : m.tcg_cpu);
  in.accel = to_string(vm.accel);
  in.cpus = vm.cpus;
  in.memory_mib = backends::qemu::guest_memory_mib(vm.memory_mib, host.firmware.kind);
  in.disk_bytes = disk_bytes;
  std::string devices = "blk:";
  for (const auto& d : vm.disks)
    devices += d.serial + (d.access == backends::qemu::DiskAccess::ReadOnly ? "(ro)," : "(rw),");
  devices += vm.net_fd >= 0 ? ";net:" + vm.net_mac : ";net:none";
  devices += vm.control == backends::qemu::ControlPort::VirtioSerial ? ";ctl:virtio-serial" : ";ctl:none";
  devices += ";fs:" + std::to_string(vm.vhost_fs.size()) + ";9p:" + (vm.bench_9p_dir.empty() ? "0" : "1");
  in.devices = devices;
  in.qemu_version = host.binary.string() + " " + host.version_line;
  in.firmware = host.firmware.describe();
  if (!host.firmware.resolved.empty())
    if (auto sum = util::sha256_file(host.firmware.resolved)) in.firmware += " sha256:" + *sum;
  // Not the measured TSC rate (tsc_early_khz=): it varies a little between runs on one host.
  in.cmdline = std::string(m.cmdline) + " " + vm.extra_cmdline;
  return in;
}

SnapshotChoice choose_snapshot(const util::Dirs& dirs, const MemorySnapshotInputs& inputs, uint64_t ram_bytes) {
  SnapshotChoice c;
  c.key = memory_snapshot_key(inputs);
  c.inputs = describe(inputs);
  auto found = find_memory_snapshot(dirs, c.key, c.inputs, ram_bytes, inputs.disk_bytes);
  if (found) {
    c.action = SnapshotChoice::Action::Resume;
    c.snapshot = std::move(*found);
    return c;
  }
  if (found.error().code() != util::ErrorCode::NotFound) {
    util::log::warn(found.error().message() + "; booting cold and saving it again");
    if (auto r = remove_memory_snapshot(dirs, c.key); !r) util::log::warn("remove it: " + r.error().message());
  }
  c.action = SnapshotChoice::Action::Save;
  return c;
}

util::Result<MemorySnapshot> save_snapshot(const util::Dirs& dirs, const SnapshotChoice& choice,
                                           backends::qemu::QemuVm& vm, int ram_fd, const fs::path& upper,
                                           MemorySnapshot meta) {
  auto writer = ML_TRY(MemorySnapshotWriter::create(dirs, choice.key));
  auto qmp = ML_TRY(vm.connect_qmp(10s));
  auto saved = [&]() -> util::Result<MemorySnapshot> {
    ML_TRY(qmp.save_to(writer.dir() / "state", k_save_timeout));
    {
      util::Fd out = ML_TRY(util::open_fd(writer.dir() / "ram", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      ML_TRY_CTX(copy_sparse(ram_fd, out.get()), "copy guest RAM");
    }
    {
      util::Fd in = ML_TRY(util::open_fd(upper, O_RDONLY | O_CLOEXEC));
      util::Fd out = ML_TRY(util::open_fd(writer.dir() / "upper.ext4", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      ML_TRY_CTX(copy_sparse(in.get(), out.get()), "copy the writable disk");
    }
    meta.inputs = choice.inputs;
    struct stat st {};
    if (::fstat(ram_fd, &st) == 0) meta.ram_bytes = static_cast<uint64_t>(st.st_size);
    if (::stat(upper.c_str(), &st) == 0) meta.disk_bytes = static_cast<uint64_t>(st.st_size);
    return writer.commit(std::move(meta));
  }();
  // The VM runs on whatever happened above (a failed save only costs the snapshot).
  auto cont = qmp.execute("cont");
  if (!saved) return std::move(saved).error().context("save memory snapshot");
  if (!cont) return std::move(cont).error().context("continue after the memory snapshot");
  return saved;
}

util::Result<std::string> resume_entropy() {
  std::string seed(protocol::k_resume_entropy_bytes, '\0');
  size_t got = 0;
  while (got < seed.size()) {
    ssize_t n = ::getrandom(seed.data() + got, seed.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return util::sys_error("getrandom");
    }
    got += static_cast<size_t>(n);
  }
  return seed;
}

}  // namespace engine
