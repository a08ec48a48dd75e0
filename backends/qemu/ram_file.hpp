// Guest RAM for a VM whose memory snapshot is saved: a memfd of the guest's size that QEMU
// maps shared (VmSpec::ram_fd), so the host can copy its touched pages while the VM is paused
// (engine/sandbox_snapshot.hpp). Linux (memfd); QEMU snapshots exist only on the QEMU path.
#pragma once

#include <cstdint>

#include "util/fd.hpp"
#include "util/result.hpp"

namespace backends::qemu {

util::Result<util::Fd> create_ram_file(uint64_t bytes);

}  // namespace backends::qemu
