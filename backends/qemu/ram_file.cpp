#include "backends/qemu/ram_file.hpp"

#include <sys/mman.h>
#include <unistd.h>

namespace backends::qemu {

util::Result<util::Fd> create_ram_file(uint64_t bytes) {
  int fd = ::memfd_create("matchlock-ram", MFD_CLOEXEC);
  if (fd < 0) return util::sys_error("memfd_create", "guest RAM");
  util::Fd f(fd);
  if (::ftruncate(f.get(), static_cast<off_t>(bytes)) < 0) return util::sys_error("ftruncate", "guest RAM");
  return f;
}

}  // namespace backends::qemu
