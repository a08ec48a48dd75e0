// The rate at which a TCG guest's time-stamp counter ticks. Under TCG, QEMU's
// RDTSC returns the host's own counter (cpu_get_host_ticks: RDTSC on an x86-64
// host, nanoseconds elsewhere), so the guest kernel must be told that rate
// (`tsc_early_khz=`): a fixed guess makes the guest clock run fast or slow by the
// ratio (2.6 GHz host, 2.0 GHz guess: +30 %, issue 14). Measured once per process.
#pragma once

#include <cstdint>

namespace backends::qemu {

// kHz of the host counter a TCG guest sees as its TSC: RDTSC measured against
// CLOCK_MONOTONIC_RAW over ~20 ms on x86-64 (error well under 0.01 %), 1,000,000
// (nanoseconds) on other hosts. The first call takes ~20 ms; later calls are free.
uint64_t tcg_guest_tsc_khz();

}  // namespace backends::qemu
