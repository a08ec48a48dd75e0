// The Virtualization.framework backend's checks that need no VZ (backends/vz/vz_spec.hpp):
// they run on Linux, where the Objective-C++ half of backends/vz is not compiled.
#include <catch2/catch.hpp>
#include <string>

#include "backends/vz/vz_spec.hpp"
#include "util/atomic_file.hpp"
#include "util/temp_dir.hpp"

namespace {

// The first bytes of an arm64 Image: "ARM\x64" at 0x38 (Documentation/arch/arm64/booting.rst).
std::string arm64_image_head() {
  std::string head(0x240, '\0');
  head.replace(0x38, 4, std::string("ARM\x64", 4));
  return head;
}

struct Fixture {
  util::TempDir dir = *util::TempDir::create("/tmp", "ml-vz-spec-");
  backends::vz::VmSpec spec;
  Fixture() {
    REQUIRE(util::write_file_atomic(dir.path() / "Image", arm64_image_head()));
    REQUIRE(util::write_file_atomic(dir.path() / "initramfs.cpio", "07070"));
    REQUIRE(util::write_file_atomic(dir.path() / "image.ext4", ""));
    REQUIRE(util::write_file_atomic(dir.path() / "upper.ext4", ""));
    spec.kernel = dir.path() / "Image";
    spec.initramfs = dir.path() / "initramfs.cpio";
    spec.control_port = 1024;
    spec.disks = {{dir.path() / "image.ext4", "ml-image", backends::vz::DiskAccess::ReadOnly},
                  {dir.path() / "upper.ext4", "ml-upper", backends::vz::DiskAccess::ReadWrite}};
    spec.state_dir = dir.path();
  }
};

std::string error_of(const backends::vz::VmSpec& spec) {
  auto r = backends::vz::check_spec(spec);
  return r ? std::string() : r.error().message();
}

}  // namespace

TEST_CASE("vz spec: a well-formed spec passes, and the command line names hvc0 and the control word") {
  Fixture f;
  CHECK(error_of(f.spec).empty());
  f.spec.extra_cmdline = "matchlock.control=vsock:1024";
  CHECK(backends::vz::kernel_cmdline(f.spec) ==
        "console=hvc0 panic=-1 quiet rdinit=/init matchlock.control=vsock:1024");
}

TEST_CASE("vz spec: a gzip or x86 kernel is refused before VZLinuxBootLoader sees it") {
  Fixture f;
  REQUIRE(
      util::write_file_atomic(f.dir.path() / "vmlinuz.gz", std::string("\x1f\x8b\x08\x00", 4) + std::string(600, 'x')));
  f.spec.kernel = f.dir.path() / "vmlinuz.gz";
  CHECK_THAT(error_of(f.spec), Catch::Contains("is not an uncompressed arm64 Image"));
  std::string bz(0x240, '\0');
  bz.replace(0x202, 4, "HdrS");
  REQUIRE(util::write_file_atomic(f.dir.path() / "bzImage", bz));
  f.spec.kernel = f.dir.path() / "bzImage";
  CHECK_THAT(error_of(f.spec), Catch::Contains("is not an uncompressed arm64 Image"));
  f.spec.kernel = f.dir.path() / "missing";
  CHECK_THAT(error_of(f.spec), Catch::Contains("kernel: "));
}

TEST_CASE("vz spec: disk serials fit virtio-blk's 20-byte ID, are printable and unique") {
  Fixture f;
  f.spec.disks[1].serial = std::string(21, 'a');
  CHECK_THAT(error_of(f.spec), Catch::Contains("disks[1]: serial"));
  f.spec.disks[1].serial = std::string(20, 'a');
  CHECK(error_of(f.spec).empty());
  f.spec.disks[1].serial = "ml upper";
  CHECK_THAT(error_of(f.spec), Catch::Contains("printable ASCII"));
  f.spec.disks[1].serial = "";
  CHECK_THAT(error_of(f.spec), Catch::Contains("disks[1]"));
  f.spec.disks[1].serial = "ml-image";
  CHECK_THAT(error_of(f.spec), Catch::Contains("used twice"));
}

TEST_CASE("vz spec: every problem is reported at once, each naming its field") {
  Fixture f;
  f.spec.cpus = 0;
  f.spec.memory_mib = 64;
  f.spec.control_port = 0;
  f.spec.initramfs = f.dir.path() / "nope";
  f.spec.disks[0].path = f.dir.path() / "gone.ext4";
  std::string e = error_of(f.spec);
  CHECK_THAT(e, Catch::Contains("cpus 0"));
  CHECK_THAT(e, Catch::Contains("memory 64 MiB"));
  CHECK_THAT(e, Catch::Contains("control_port 0"));
  CHECK_THAT(e, Catch::Contains("initramfs"));
  CHECK_THAT(e, Catch::Contains("disks[0]"));
  f.spec.control_port = 0xffffffffu;  // VMADDR_PORT_ANY
  CHECK_THAT(error_of(f.spec), Catch::Contains("control_port 4294967295"));
}
