#include "backends/initramfs.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>

#include "backends/host_overrides.hpp"
#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/process_info.hpp"
#include "util/sha256.hpp"

namespace backends {

namespace fs = std::filesystem;

namespace {

struct WriterFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

util::Error archive_error(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return util::make_error(util::ErrorCode::Io, "initramfs " + what + ": " + (msg ? msg : "libarchive error"));
}

class CpioWriter {
 public:
  explicit CpioWriter(int fd) : m_a(archive_write_new()) {
    archive_write_set_format_cpio_newc(m_a.get());
    archive_write_set_bytes_per_block(m_a.get(), 512);
    m_ok = archive_write_open_fd(m_a.get(), fd) == ARCHIVE_OK;
  }
  util::Result<void> opened() { return m_ok ? util::ok() : archive_error(m_a.get(), "open"); }

  util::Result<void> add(const std::string& path, mode_t type, int perm, std::string_view data = {}, dev_t rdev = 0) {
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_filetype(e.get(), type);
    archive_entry_set_perm(e.get(), static_cast<mode_t>(perm));
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), 0, 0);
    archive_entry_set_nlink(e.get(), type == AE_IFDIR ? 2 : 1);
    archive_entry_set_ino(e.get(), ++m_ino);
    if (rdev) archive_entry_set_rdev(e.get(), rdev);
    archive_entry_set_size(e.get(), type == AE_IFREG ? static_cast<la_int64_t>(data.size()) : 0);
    if (archive_write_header(m_a.get(), e.get()) != ARCHIVE_OK) return archive_error(m_a.get(), path);
    if (!data.empty() &&
        archive_write_data(m_a.get(), data.data(), data.size()) != static_cast<la_ssize_t>(data.size()))
      return archive_error(m_a.get(), path);
    return util::ok();
  }
  util::Result<void> close() {
    if (archive_write_close(m_a.get()) != ARCHIVE_OK) return archive_error(m_a.get(), "close");
    return util::ok();
  }

 private:
  std::unique_ptr<archive, WriterFree> m_a;
  bool m_ok = false;
  la_int64_t m_ino = 0;
};

// The ELF machine of an agent binary (EM_X86_64 62, EM_AARCH64 183); nullopt if neither.
std::optional<GuestArch> agent_arch(std::string_view elf) {
  if (elf.size() < 20 || elf.substr(0, 4) !=
                             "\x7f"
                             "ELF")
    return std::nullopt;
  unsigned machine = static_cast<unsigned char>(elf[18]) | static_cast<unsigned char>(elf[19]) << 8;
  if (machine == 62) return GuestArch::Amd64;
  if (machine == 183) return GuestArch::Arm64;
  return std::nullopt;
}

}  // namespace

util::Result<fs::path> locate_agent(GuestArch arch) {
  const bool amd64 = arch == GuestArch::Amd64;
  const char* variable = amd64 ? "MATCHLOCK_AGENT" : "MATCHLOCK_AGENT_ARM64";
  const std::string name = amd64 ? "matchlock-agent" : std::string("matchlock-agent-") + to_string(arch);
  if (const std::string& chosen = host_overrides().agent(arch); !chosen.empty()) {
    if (!util::path_exists(chosen))
      return util::make_error(util::ErrorCode::NotFound, std::string(variable) + "=" + chosen + ": not found");
    return fs::path(chosen);
  }
  auto self = util::self_executable();  // the initramfs is built on macOS too (VZ boots it)
  fs::path exe_dir = self ? fs::path(*self).parent_path() : fs::path();
  for (const fs::path& candidate : {exe_dir / name, exe_dir / ".." / "lib" / "matchlock" / name})
    if (util::path_exists(candidate)) return candidate;
  std::string hint =
      amd64 ? ""
            : " (built only when the cross compiler is installed: apt-get install g++-aarch64-linux-gnu, then rebuild)";
  return util::make_error(util::ErrorCode::NotFound, std::string("guest agent ") + name + " for " + to_string(arch) +
                                                         " guests not found next to " + exe_dir.string() + hint +
                                                         " (set " + variable + ")");
}

util::Result<void> write_initramfs(const KernelBundle& kernel, const fs::path& agent, const fs::path& out) {
  std::string agent_bytes = ML_TRY_CTX(util::read_file(agent), "guest agent");
  if (agent_arch(agent_bytes) != kernel.arch)
    return util::make_error(util::ErrorCode::Usage, "guest agent " + agent.string() + " is not an " +
                                                        to_string(kernel.arch) + " binary, but the kernel " +
                                                        kernel.vmlinuz.string() + " is");
  util::AtomicFile file = ML_TRY(util::AtomicFile::create(out, 0644));
  {
    CpioWriter w(file.fd());
    ML_TRY(w.opened());
    for (const char* dir : {"dev", "proc", "sys", "run", "tmp", "newroot", "lib", "lib/modules"})
      ML_TRY(w.add(dir, AE_IFDIR, 0755));
    ML_TRY(w.add("dev/console", AE_IFCHR, 0600, {}, makedev(5, 1)));
    ML_TRY(w.add("init", AE_IFREG, 0755, agent_bytes));
    std::string order;
    for (const auto& m : kernel.modules) {
      std::string data = ML_TRY(util::read_file(kernel.module_path(m)));
      ML_TRY(w.add("lib/modules/" + m.file, AE_IFREG, 0644, data));
      order += m.file + "\n";
    }
    ML_TRY(w.add("lib/modules/order", AE_IFREG, 0644, order));
    ML_TRY(w.close());
  }
  return file.commit();
}

util::Result<fs::path> ensure_initramfs(const util::Dirs& dirs, const KernelBundle& kernel, const fs::path& agent) {
  std::string agent_sha = ML_TRY_CTX(util::sha256_file(agent), "guest agent");
  std::string key = util::sha256_hex("initramfs-v1\n" + kernel.digest + "\n" + agent_sha + "\n");
  fs::path dir = dirs.cache / "initramfs";
  fs::path out = dir / (key.substr(0, 32) + ".cpio");
  if (util::path_exists(out)) return out;
  ML_TRY(util::make_dirs(dir));
  ML_TRY(write_initramfs(kernel, agent, out));
  return out;
}

}  // namespace backends
