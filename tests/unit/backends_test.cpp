// backends: modinfo parsing and module ordering (what depmod would compute),
// the initramfs layout the agent expects, and the QEMU command line plan.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <map>

#include "backends/initramfs.hpp"
#include "backends/module_info.hpp"
#include "backends/qemu/qemu_vm.hpp"
#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/temp_dir.hpp"

namespace {

// A minimal ELF64 LE object with a .modinfo section and a section string table.
std::string fake_module(const std::string& modinfo) {
  std::string shstr = std::string("\0.modinfo\0.shstrtab\0", 20);
  std::string elf(64, '\0');
  std::memcpy(elf.data(), "\x7f" "ELF\x02\x01\x01", 7);
  uint64_t modinfo_off = elf.size();
  elf += modinfo;
  uint64_t shstr_off = elf.size();
  elf += shstr;
  while (elf.size() % 8) elf += '\0';
  uint64_t shoff = elf.size();
  auto put = [&](size_t at, auto v) { std::memcpy(elf.data() + at, &v, sizeof v); };
  put(0x28, shoff);
  put(0x3A, uint16_t{64});
  put(0x3C, uint16_t{3});
  put(0x3E, uint16_t{2});
  std::string sh(64 * 3, '\0');
  auto sec = [&](int i, uint32_t name, uint64_t off, uint64_t size) {
    std::memcpy(sh.data() + i * 64, &name, 4);
    std::memcpy(sh.data() + i * 64 + 0x18, &off, 8);
    std::memcpy(sh.data() + i * 64 + 0x20, &size, 8);
  };
  sec(1, 1, modinfo_off, modinfo.size());
  sec(2, 10, shstr_off, shstr.size());
  return elf + sh;
}

}  // namespace

TEST_CASE("modinfo: name, depends and vermagic come from the .modinfo section") {
  std::string mi = std::string("license=GPL\0depends=virtio,virtio_ring\0name=virtio_mmio\0vermagic=6.1.0-56-cloud-amd64 SMP mod_unload\0", 99);
  auto info = backends::parse_module_info(fake_module(mi));
  REQUIRE(info);
  CHECK(info->name == "virtio_mmio");
  CHECK(info->depends == std::vector<std::string>{"virtio", "virtio_ring"});
  CHECK(info->vermagic.rfind("6.1.0-56-cloud-amd64", 0) == 0);
  auto empty_deps = backends::parse_module_info(fake_module(std::string("depends=\0name=overlay\0", 22)));
  REQUIRE(empty_deps);
  CHECK(empty_deps->depends.empty());
}

TEST_CASE("modinfo: garbage is rejected, not trusted") {
  CHECK_FALSE(backends::parse_module_info("not an elf"));
  std::string truncated = fake_module(std::string("name=x\0", 7)).substr(0, 80);
  CHECK_FALSE(backends::parse_module_info(truncated));
}

TEST_CASE("module order: dependencies first, each once; unknown and cyclic fail") {
  std::map<std::string, std::vector<std::string>> known = {
      {"virtio_ring", {}}, {"virtio", {"virtio_ring"}}, {"virtio_mmio", {"virtio", "virtio_ring"}},
      {"failover", {}},    {"net_failover", {"failover"}}, {"virtio_net", {"virtio_ring", "virtio", "net_failover"}},
      {"overlay", {}}};
  auto order = backends::module_load_order({"virtio_mmio", "virtio_net", "overlay"}, known);
  REQUIRE(order);
  CHECK(*order == std::vector<std::string>{"virtio_ring", "virtio", "virtio_mmio", "failover", "net_failover", "virtio_net", "overlay"});
  auto missing = backends::module_load_order({"fuse"}, known);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message().find("fuse") != std::string::npos);
  known["a"] = {"b"};
  known["b"] = {"a"};
  CHECK_FALSE(backends::module_load_order({"a"}, known));
}

TEST_CASE("initramfs: /init, /dev/console, modules and their load order in cpio newc") {
  auto tmp = util::TempDir::create("/tmp", "ml-initramfs-test-");
  REQUIRE(tmp);
  auto dir = tmp->path();
  REQUIRE(util::make_dirs(dir / "bundle" / "modules"));
  backends::KernelBundle b;
  b.dir = dir / "bundle";
  b.modules = {{"virtio_ring", "01-virtio_ring.ko"}, {"virtio", "02-virtio.ko"}};
  for (const auto& m : b.modules) REQUIRE(util::write_file_atomic(b.module_path(m), "ko:" + m.name));
  REQUIRE(util::write_file_atomic(dir / "agent", "#!agent"));
  REQUIRE(backends::write_initramfs(b, dir / "agent", dir / "out.cpio"));

  std::map<std::string, std::pair<unsigned, std::string>> entries;  // path -> (mode, data)
  archive* a = archive_read_new();
  archive_read_support_format_cpio(a);
  REQUIRE(archive_read_open_filename(a, (dir / "out.cpio").c_str(), 4096) == ARCHIVE_OK);
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string data(static_cast<size_t>(archive_entry_size(e)), '\0');
    if (!data.empty()) archive_read_data(a, data.data(), data.size());
    entries[archive_entry_pathname(e)] = {archive_entry_mode(e), data};
    if (std::string(archive_entry_pathname(e)) == "dev/console") CHECK(archive_entry_rdevmajor(e) == 5);
  }
  CHECK(archive_format(a) == ARCHIVE_FORMAT_CPIO_SVR4_NOCRC);
  archive_read_free(a);
  REQUIRE(entries.count("init"));
  CHECK(entries["init"].second == "#!agent");
  CHECK((entries["init"].first & 0777) == 0755);
  CHECK(S_ISCHR(entries["dev/console"].first));
  CHECK(entries["lib/modules/02-virtio.ko"].second == "ko:virtio");
  CHECK(entries["lib/modules/order"].second == "01-virtio_ring.ko\n02-virtio.ko\n");
}

TEST_CASE("qemu plan: microvm, virtio-mmio disks by serial, control port, console file") {
  backends::qemu::VmSpec spec;
  spec.kernel = "/k/vmlinuz";
  spec.initramfs = "/k/initrd";
  spec.cpus = 2;
  spec.memory_mib = 1024;
  spec.disks = {{"/img,odd.ext4", "ml-image", backends::qemu::DiskAccess::ReadOnly},
                {"/s/upper.ext4", "ml-upper", backends::qemu::DiskAccess::ReadWrite}};
  auto argv = backends::qemu::qemu_argv(spec);
  auto has = [&](const std::string& s) { return std::find(argv.begin(), argv.end(), s) != argv.end(); };
  CHECK(has("microvm,rtc=off"));
  CHECK(has("tcg"));
  CHECK(has("max"));
  CHECK(has("-no-reboot"));
  CHECK(has("1024M"));
  CHECK(has("id=disk0,file=/img,,odd.ext4,format=raw,if=none,readonly=on"));
  CHECK(has("virtio-blk-device,drive=disk1,serial=ml-upper"));
  CHECK(has("virtserialport,chardev=ctl,name=matchlock.ctl"));
  CHECK(has("console=ttyS0 reboot=t panic=-1 quiet rdinit=/init tsc_early_khz=2000000"));
  spec.accel = backends::qemu::Accel::Kvm;
  auto kvm = backends::qemu::qemu_argv(spec);
  CHECK(std::find(kvm.begin(), kvm.end(), "host") != kvm.end());
  // The TSC workaround is for TCG only; KVM guests get the real frequency from kvmclock.
  CHECK(std::find(kvm.begin(), kvm.end(), "console=ttyS0 reboot=t panic=-1 quiet rdinit=/init") != kvm.end());
}
