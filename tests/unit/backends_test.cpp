// backends: modinfo parsing and module ordering (what depmod would compute),
// the initramfs layout the agent expects, the QEMU command line plan, and the
// QEMU facts it depends on (version, data dirs, microvm firmware).
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <map>

#include "backends/initramfs.hpp"
#include "backends/kernel_artifact.hpp"
#include "backends/kernel_bundle.hpp"
#include "backends/kernel_image.hpp"
#include "backends/module_info.hpp"
#include "backends/qemu/qemu_host.hpp"
#include "backends/qemu/host_tsc.hpp"
#include "backends/qemu/qemu_vm.hpp"
#include "util/atomic_file.hpp"
#include "util/fs.hpp"
#include "util/sha256.hpp"
#include "util/temp_dir.hpp"

namespace {

// A minimal ELF64 LE object with a .modinfo section and a section string table.
std::string fake_module(const std::string& modinfo) {
  std::string shstr = std::string("\0.modinfo\0.shstrtab\0", 20);
  std::string elf(64, '\0');
  std::memcpy(elf.data(),
              "\x7f"
              "ELF\x02\x01\x01",
              7);
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

// The first bytes of a static ELF executable for MACHINE (62 x86-64, 183 aarch64).
std::string fake_agent(uint16_t machine) {
  std::string elf(64, '\0');
  std::memcpy(elf.data(),
              "\x7f"
              "ELF\x02\x01\x01",
              7);
  std::memcpy(elf.data() + 18, &machine, 2);
  return elf + "#!agent";
}

}  // namespace

TEST_CASE("modinfo: name, depends and vermagic come from the .modinfo section") {
  std::string mi = std::string(
      "license=GPL\0depends=virtio,virtio_ring\0name=virtio_mmio\0vermagic=6.1.0-56-cloud-amd64 SMP mod_unload\0", 99);
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

TEST_CASE("module order: dependencies first, each once, unknown and cyclic fail") {
  std::map<std::string, std::vector<std::string>> known = {
      {"virtio_ring", {}}, {"virtio", {"virtio_ring"}},    {"virtio_mmio", {"virtio", "virtio_ring"}},
      {"failover", {}},    {"net_failover", {"failover"}}, {"virtio_net", {"virtio_ring", "virtio", "net_failover"}},
      {"overlay", {}}};
  auto order = backends::module_load_order({"virtio_mmio", "virtio_net", "overlay"}, known);
  REQUIRE(order);
  CHECK(*order == std::vector<std::string>{"virtio_ring", "virtio", "virtio_mmio", "failover", "net_failover",
                                           "virtio_net", "overlay"});
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
  REQUIRE(util::write_file_atomic(dir / "agent", fake_agent(62)));
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
  CHECK(entries["init"].second == fake_agent(62));
  CHECK((entries["init"].first & 0777) == 0755);
  CHECK(S_ISCHR(entries["dev/console"].first));
  CHECK(entries["lib/modules/02-virtio.ko"].second == "ko:virtio");
  CHECK(entries["lib/modules/order"].second == "01-virtio_ring.ko\n02-virtio.ko\n");
}

TEST_CASE("initramfs: an agent built for another architecture than the kernel is refused") {
  auto tmp = util::TempDir::create("/tmp", "ml-initramfs-test-");
  REQUIRE(tmp);
  backends::KernelBundle b;
  b.dir = tmp->path();
  b.vmlinuz = tmp->path() / "Image";
  b.arch = backends::GuestArch::Arm64;
  REQUIRE(util::write_file_atomic(tmp->path() / "x86", fake_agent(62)));
  REQUIRE(util::write_file_atomic(tmp->path() / "arm", fake_agent(183)));
  REQUIRE(util::write_file_atomic(tmp->path() / "script", "#!/bin/sh\n"));
  auto wrong = backends::write_initramfs(b, tmp->path() / "x86", tmp->path() / "a.cpio");
  REQUIRE(!wrong);
  CHECK(wrong.error().message().find("is not an arm64 binary") != std::string::npos);
  CHECK(!backends::write_initramfs(b, tmp->path() / "script", tmp->path() / "b.cpio"));
  CHECK(backends::write_initramfs(b, tmp->path() / "arm", tmp->path() / "c.cpio"));
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
  CHECK(has("console=ttyS0 reboot=t panic=-1 quiet edd=off rdinit=/init tsc=reliable tsc_early_khz=2000000"));
  spec.tsc_khz = 2596128;  // the guest's TSC is the host's counter: its real rate, not a guess
  auto measured = backends::qemu::qemu_argv(spec);
  CHECK(std::find(measured.begin(), measured.end(),
                  "console=ttyS0 reboot=t panic=-1 quiet edd=off rdinit=/init tsc=reliable tsc_early_khz=2596128") !=
        measured.end());
  spec.accel = backends::qemu::Accel::Kvm;
  auto kvm = backends::qemu::qemu_argv(spec);
  CHECK(std::find(kvm.begin(), kvm.end(), "host") != kvm.end());
  // The TSC workaround is for TCG only; KVM guests get the real frequency from kvmclock.
  CHECK(std::find(kvm.begin(), kvm.end(), "console=ttyS0 reboot=t panic=-1 quiet edd=off rdinit=/init") != kvm.end());
  CHECK(std::find(kvm.begin(), kvm.end(), "-bios") == kvm.end());  // firmware unset: QEMU's default
}

namespace {

std::vector<std::string> plan_with(backends::qemu::FirmwareKind kind, const std::string& bios, uint64_t mib,
                                   bool vhost) {
  backends::qemu::VmSpec spec;
  spec.kernel = "/k/vmlinuz";
  spec.initramfs = "/k/initrd";
  spec.memory_mib = mib;
  spec.firmware = backends::qemu::Firmware{bios, kind, bios};
  if (vhost) spec.vhost_fs.push_back({7, "ws"});
  return backends::qemu::qemu_argv(spec);
}

std::string after(const std::vector<std::string>& argv, const std::string& flag) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  return it == argv.end() || it + 1 == argv.end() ? std::string() : *(it + 1);
}

}  // namespace

TEST_CASE(
    "qemu plan: qboot is passed as -bios, a 2 GiB guest under another firmware gets 2050 MiB, RAM and memfd agree") {
  using backends::qemu::FirmwareKind;
  auto qboot = plan_with(FirmwareKind::Qboot, "/usr/share/qemu/qboot.rom", 2048, true);
  CHECK(after(qboot, "-bios") == "/usr/share/qemu/qboot.rom");
  CHECK(after(qboot, "-m") == "2048M");
  CHECK(after(qboot, "-object") == "memory-backend-memfd,id=ram,share=on,size=2048M");
  // QEMU's default firmware (SeaBIOS on QEMU 10): no -bios, and 2 GiB becomes 2050 MiB
  // (a 2 GiB guest gets its initrd placed over SeaBIOS's pages; backends/qemu/qemu_host.hpp).
  auto seabios = plan_with(FirmwareKind::Other, "", 2048, true);
  CHECK(std::find(seabios.begin(), seabios.end(), "-bios") == seabios.end());
  CHECK(after(seabios, "-m") == "2050M");
  CHECK(after(seabios, "-object") == "memory-backend-memfd,id=ram,share=on,size=2050M");
  for (uint64_t mib : {256, 512, 1024, 2047, 2049, 3072, 4096})
    CHECK(after(plan_with(FirmwareKind::Other, "", mib, false), "-m") == std::to_string(mib) + "M");
  CHECK(backends::qemu::guest_memory_mib(2048, FirmwareKind::Qboot) == 2048);
  CHECK(backends::qemu::guest_memory_mib(2048, FirmwareKind::Other) == 2050);
}

TEST_CASE("qemu plan: arm64 boots the virt machine with virtio-pci devices, a PL011 console and no firmware") {
  backends::qemu::VmSpec spec;
  spec.arch = backends::GuestArch::Arm64;
  spec.kernel = "/k/Image";
  spec.initramfs = "/k/initrd";
  spec.memory_mib = 2048;
  spec.firmware = backends::qemu::Firmware{"/usr/share/qemu/qboot.rom", backends::qemu::FirmwareKind::Qboot, {}};
  spec.disks = {{"/img.ext4", "ml-image", backends::qemu::DiskAccess::ReadOnly}};
  spec.net_fd = 9;
  spec.vhost_fs.push_back({7, "ws"});
  auto argv = backends::qemu::qemu_argv(spec);
  auto has = [&](const std::string& s) { return std::find(argv.begin(), argv.end(), s) != argv.end(); };
  CHECK(after(argv, "-M") == "virt,gic-version=max,memory-backend=ram");
  CHECK(after(argv, "-cpu") == "max,pauth=off");
  CHECK(after(argv, "-append") == "console=ttyAMA0 panic=-1 quiet rdinit=/init");  // no x86 TSC or EDD options
  CHECK(after(argv, "-m") == "2048M");                                             // no SeaBIOS nudge
  CHECK(!has("-bios"));                                                            // QEMU loads the Image itself
  CHECK(has("virtio-blk-pci,drive=disk0,serial=ml-image"));
  CHECK(has("virtio-net-pci,netdev=net0,mac=52:54:00:6d:6c:02"));
  CHECK(has("virtio-serial-pci"));
  CHECK(has("virtserialport,chardev=ctl,name=matchlock.ctl"));
  CHECK(has("vhost-user-fs-pci,chardev=vfs0,tag=ws,queue-size=1024"));
  CHECK(!has("virtio-blk-device,drive=disk0,serial=ml-image"));
  spec.accel = backends::qemu::Accel::Kvm;  // an arm64 host
  CHECK(after(backends::qemu::qemu_argv(spec), "-cpu") == "host");
}

TEST_CASE("qemu plan: the NIC is -netdev stream by default and -netdev dgram for VZ's framing") {
  backends::qemu::VmSpec spec;
  spec.kernel = "/k/vmlinuz";
  spec.initramfs = "/k/initrd";
  spec.net_fd = 9;
  CHECK(after(backends::qemu::qemu_argv(spec), "-netdev") == "stream,id=net0,server=off,addr.type=fd,addr.str=9");
  spec.net_framing = backends::qemu::NetFraming::Datagram;
  CHECK(after(backends::qemu::qemu_argv(spec), "-netdev") == "dgram,id=net0,local.type=fd,local.str=9");
}

TEST_CASE("guest arch: Debian's and uname's spellings, nothing else") {
  using backends::GuestArch;
  CHECK(backends::parse_guest_arch("amd64") == GuestArch::Amd64);
  CHECK(backends::parse_guest_arch("x86_64") == GuestArch::Amd64);
  CHECK(backends::parse_guest_arch("arm64") == GuestArch::Arm64);
  CHECK(backends::parse_guest_arch("aarch64") == GuestArch::Arm64);
  for (const char* bad : {"", "arm", "armhf", "riscv64", "ARM64", "arm64 "}) CHECK(!backends::parse_guest_arch(bad));
  CHECK(std::string(backends::to_string(GuestArch::Arm64)) == "arm64");
  CHECK(backends::current_link_name(GuestArch::Amd64) == "current");
  CHECK(backends::current_link_name(GuestArch::Arm64) == "current-arm64");
  CHECK(backends::default_kernel_package(GuestArch::Arm64) == "linux-image-cloud-arm64");
  // VZ's devices: virtio-pci and vsock are in the arm64 set, besides what QEMU boots with.
  for (const char* m : {"virtio_pci", "virtio_blk", "virtio_net", "virtio_console", "overlay", "fuse", "virtiofs",
                        "vsock", "vmw_vsock_virtio_transport"}) {
    const auto& set = backends::bundle_modules(GuestArch::Arm64);
    CHECK(std::find(set.begin(), set.end(), m) != set.end());
  }
}

namespace {

// An arm64 Image header: "MZ" (EFI stub), the magic "ARM\x64" at 0x38, then text.
std::string fake_arm64_image() {
  std::string img(0x400, '\0');
  img[0] = 'M';
  img[1] = 'Z';
  std::memcpy(img.data() + 0x38, "ARM\x64", 4);
  return img + "kernel text";
}

std::string gzip(const std::string& data) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_raw(a);
  archive_write_set_bytes_in_last_block(a, 1);  // no zero padding after the stream
  archive_write_open(
      a, &out, nullptr,
      [](archive*, void* o, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(o)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  archive_entry* e = archive_entry_new();
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
  archive_write_header(a, e);
  archive_write_data(a, data.data(), data.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

}  // namespace

TEST_CASE("kernel image: an arm64 Image is kept, a gzipped one inflated, anything else refused") {
  using backends::GuestArch;
  std::string image = fake_arm64_image();
  CHECK(backends::sniff_kernel_image(image) == GuestArch::Arm64);
  std::string bz(0x300, '\0');
  std::memcpy(bz.data() + 0x202, "HdrS", 4);
  CHECK(backends::sniff_kernel_image(bz) == GuestArch::Amd64);
  CHECK(!backends::sniff_kernel_image(image.substr(0, 0x30)));
  CHECK(!backends::sniff_kernel_image(""));

  auto same = backends::arm64_image(image, "vmlinuz");
  REQUIRE(same);
  CHECK(*same == image);
  std::string packed = gzip(image);
  REQUIRE(packed.substr(0, 2) == "\x1f\x8b");
  auto inflated = backends::arm64_image(packed, "vmlinuz");
  REQUIRE(inflated);
  CHECK(*inflated == image);

  auto x86 = backends::arm64_image(bz, "vmlinuz");
  REQUIRE(!x86);
  CHECK(x86.error().message().find("it is amd64") != std::string::npos);
  std::string zboot = std::string("MZ\0\0zimg", 8) + std::string(0x100, '\0');
  auto z = backends::arm64_image(zboot, "vmlinuz");
  REQUIRE(!z);
  CHECK(z.error().message().find("zboot") != std::string::npos);
  CHECK(!backends::arm64_image(gzip("not a kernel"), "vmlinuz"));
  auto truncated = backends::arm64_image(packed.substr(0, packed.size() / 2), "vmlinuz");
  REQUIRE(!truncated);
  CHECK(truncated.error().message().find("truncated") != std::string::npos);
  std::string corrupt = packed;
  corrupt[corrupt.size() - 6] ^= 0x55;  // the CRC32 in the trailer
  CHECK(!backends::arm64_image(corrupt, "vmlinuz"));
}

TEST_CASE("kernel bundle: bundle.json names its arch and image file; old bundles are amd64 vmlinuz") {
  auto tmp = util::TempDir::create("/tmp", "ml-bundle-test-");
  REQUIRE(tmp);
  auto write = [&](const std::string& json) { REQUIRE(util::write_file_atomic(tmp->path() / "bundle.json", json)); };
  REQUIRE(util::write_file_atomic(tmp->path() / "vmlinuz", "k"));
  REQUIRE(util::write_file_atomic(tmp->path() / "Image", fake_arm64_image()));
  write(R"({"format":1,"package":"p","version":"1","release":"r","modules":[]})");
  auto old = backends::load_kernel_bundle(tmp->path());
  REQUIRE(old);
  CHECK(old->arch == backends::GuestArch::Amd64);
  CHECK(old->vmlinuz == tmp->path() / "vmlinuz");
  write(R"({"format":1,"arch":"arm64","kernel":"Image","modules":[]})");
  auto arm = backends::load_kernel_bundle(tmp->path());
  REQUIRE(arm);
  CHECK(arm->arch == backends::GuestArch::Arm64);
  CHECK(arm->vmlinuz == tmp->path() / "Image");
  for (const char* bad :
       {R"({"format":1,"arch":"aarch64","modules":[]})", R"({"format":1,"arch":"riscv64","modules":[]})",
        R"({"format":1,"kernel":"../../etc/passwd","modules":[]})",
        R"({"format":1,"kernel":"/vmlinuz","modules":[]})"}) {
    write(bad);
    CHECK(!backends::load_kernel_bundle(tmp->path()));
  }
  // A bare kernel file: its arch from its header.
  auto bare = backends::kernel_bundle_from_path(tmp->path() / "Image");
  REQUIRE(bare);
  CHECK(bare->arch == backends::GuestArch::Arm64);
}

TEST_CASE("kernel artifact: a pulled bundle.json names its image file, and only vmlinuz or Image") {
  auto tmp = util::TempDir::create("/tmp", "ml-artifact-test-");
  REQUIRE(tmp);
  util::Dirs dirs{tmp->path() / "cache", tmp->path() / "state", tmp->path() / "config"};
  std::string image = fake_arm64_image();
  REQUIRE(util::write_file_atomic(tmp->path() / "kernel", image));
  // An empty ustar archive: two zero blocks.
  REQUIRE(util::write_file_atomic(tmp->path() / "modules.tar", std::string(1024, '\0')));
  auto install = [&](const std::string& name, const std::string& kernel_field) {
    std::string meta = R"({"format":1,"arch":"arm64","kernel":")" + kernel_field + R"(","modules":[],"files":{")" +
                       kernel_field + R"(":")" + util::sha256_hex(image) + R"("}})";
    REQUIRE(util::write_file_atomic(tmp->path() / "bundle.json", meta));
    return backends::install_kernel_payload(dirs, name, tmp->path() / "kernel", tmp->path() / "modules.tar",
                                            tmp->path() / "bundle.json");
  };
  auto ok = install("good", "Image");
  REQUIRE(ok);
  CHECK(ok->arch == backends::GuestArch::Arm64);
  auto written = util::read_file(ok->vmlinuz);
  REQUIRE(written);
  CHECK(*written == image);
  // A hostile registry names a file outside the bundle: refused before anything is written.
  for (const char* hostile : {"../escape", "../../cache/escape", "/tmp/escape", "modules/x.ko", ""}) {
    INFO(hostile);
    CHECK(!install(std::string("bad") + std::to_string(std::strlen(hostile)), hostile));
  }
  CHECK(!util::path_exists(backends::kernels_dir(dirs) / "escape"));  // staging/../escape
  CHECK(!util::path_exists(dirs.cache / "escape"));
  CHECK(!util::path_exists("/tmp/escape"));
}

TEST_CASE("qemu host: version and data dirs from QEMU's own output") {
  using backends::qemu::parse_qemu_version;
  CHECK(parse_qemu_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright") == "7.2.22");
  CHECK(parse_qemu_version("QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)\n") == "10.0.2");
  CHECK(parse_qemu_version("QEMU emulator version 9.2.0\n") == "9.2.0");
  CHECK(parse_qemu_version("not qemu") == "");
  CHECK(parse_qemu_version("version x.y") == "");
  auto dirs = backends::qemu::parse_data_dirs(
      "/tmp/p/usr/share/qemu\n/usr/share/seabios\r\n\nrelative/ignored\n/usr/lib/ipxe/qemu");
  REQUIRE(dirs.size() == 3);
  CHECK(dirs[0] == "/tmp/p/usr/share/qemu");
  CHECK(dirs[1] == "/usr/share/seabios");
  CHECK(dirs[2] == "/usr/lib/ipxe/qemu");
}

TEST_CASE("qemu host: microvm firmware: qboot when QEMU has it, else QEMU's default with its kind") {
  using backends::qemu::FirmwareKind;
  auto tmp = util::TempDir::create(std::filesystem::temp_directory_path(), "fw-");
  REQUIRE(tmp);
  auto d = tmp->path();
  auto put = [](const std::filesystem::path& p) {
    REQUIRE(util::make_dirs(p.parent_path()));
    REQUIRE(util::write_file_atomic(p, "rom", 0644));
  };
  // Debian 12 (QEMU 7.2): bios-microvm.bin is a link to qboot.rom in the same dir.
  put(d / "deb12/qemu/qboot.rom");
  std::filesystem::create_symlink("qboot.rom", d / "deb12/qemu/bios-microvm.bin");
  // Debian 13 / backports (QEMU 10): qboot.rom in qemu/, bios-microvm.bin is SeaBIOS's.
  put(d / "deb13/qemu/qboot.rom");
  put(d / "deb13/seabios/bios-microvm.bin");
  // A QEMU without qboot (SeaBIOS only).
  put(d / "noqboot/seabios/bios-microvm.bin");

  auto f = backends::qemu::choose_firmware({d / "deb13/qemu", d / "deb13/seabios"}, "");
  CHECK(f.kind == FirmwareKind::Qboot);
  CHECK(f.bios == d / "deb13/qemu/qboot.rom");
  CHECK(backends::qemu::choose_firmware({d / "deb13/seabios", d / "deb13/qemu"}, "auto").bios ==
        d / "deb13/qemu/qboot.rom");

  f = backends::qemu::choose_firmware({d / "noqboot/seabios"}, "");
  CHECK(f.kind == FirmwareKind::Other);
  CHECK(f.bios.empty());
  CHECK(f.resolved == d / "noqboot/seabios/bios-microvm.bin");

  // "qemu": QEMU's own default; its kind follows the link (Debian 12: qboot).
  f = backends::qemu::choose_firmware({d / "deb12/qemu"}, "qemu");
  CHECK(f.bios.empty());
  CHECK(f.kind == FirmwareKind::Qboot);
  f = backends::qemu::choose_firmware({d / "deb13/qemu", d / "deb13/seabios"}, "qemu");
  CHECK(f.kind == FirmwareKind::Other);

  // A named file: found in the data dirs (first one that has it), or a path as given.
  f = backends::qemu::choose_firmware({d / "deb13/qemu", d / "deb13/seabios"}, "bios-microvm.bin");
  CHECK(f.bios == "bios-microvm.bin");
  CHECK(f.resolved == d / "deb13/seabios/bios-microvm.bin");
  CHECK(f.kind == FirmwareKind::Other);
  f = backends::qemu::choose_firmware({}, (d / "deb12/qemu/bios-microvm.bin").string());
  CHECK(f.kind == FirmwareKind::Qboot);
  f = backends::qemu::choose_firmware({}, (d / "absent.rom").string());
  CHECK(f.kind == FirmwareKind::Other);
  CHECK(f.resolved.empty());
}

TEST_CASE("the TCG guest's TSC rate is measured from the host counter") {
  uint64_t khz = backends::qemu::tcg_guest_tsc_khz();
#if defined(__x86_64__)
  CHECK(khz > 100'000);                               // > 100 MHz
  CHECK(khz < 10'000'000);                            // < 10 GHz
  CHECK(backends::qemu::tcg_guest_tsc_khz() == khz);  // measured once
#else
  CHECK(khz == 1'000'000);
#endif
}
