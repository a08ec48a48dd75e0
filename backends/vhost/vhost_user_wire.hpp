// The vhost-user front-end messages matchlock's devices know (QEMU's
// docs/interop/vhost-user.rst, "Front-end message types"): VhostUserDevice
// answers them, and the unit tests send them exactly as QEMU does.
#pragma once

#include <cstdint>

namespace backends::vhost::wire {

enum Request : uint32_t {
  GetFeatures = 1,
  SetFeatures = 2,
  SetOwner = 3,
  ResetOwner = 4,
  SetMemTable = 5,
  SetLogBase = 6,
  SetLogFd = 7,
  SetVringNum = 8,
  SetVringAddr = 9,
  SetVringBase = 10,
  GetVringBase = 11,
  SetVringKick = 12,
  SetVringCall = 13,
  SetVringErr = 14,
  GetProtocolFeatures = 15,
  SetProtocolFeatures = 16,
  GetQueueNum = 17,
  SetVringEnable = 18,
};

}  // namespace backends::vhost::wire
