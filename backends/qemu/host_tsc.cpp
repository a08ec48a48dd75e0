#include "backends/qemu/host_tsc.hpp"

#include <time.h>

#include <chrono>
#include <mutex>
#include <thread>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace backends::qemu {
namespace {

#if defined(__x86_64__)
struct Sample {
  uint64_t tsc = 0;
  int64_t ns = 0;
};

int64_t raw_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The counter read between two clock reads that lie closest together (a
// preempted read shows as a wide bracket and is discarded).
Sample sample() {
  Sample best;
  int64_t best_width = INT64_MAX;
  for (int i = 0; i < 16; ++i) {
    int64_t a = raw_ns();
    uint64_t t = __rdtsc();
    int64_t b = raw_ns();
    if (b - a < best_width) {
      best_width = b - a;
      best = {t, a + (b - a) / 2};
    }
  }
  return best;
}

uint64_t measure() {
  Sample a = sample();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Sample b = sample();
  if (b.ns <= a.ns || b.tsc <= a.tsc) return 1'000'000;
  long double khz = static_cast<long double>(b.tsc - a.tsc) * 1e6L / static_cast<long double>(b.ns - a.ns);
  return static_cast<uint64_t>(khz + 0.5L);
}
#else
uint64_t measure() { return 1'000'000; }
#endif

}  // namespace

uint64_t tcg_guest_tsc_khz() {
  static std::once_flag once;
  static uint64_t khz = 0;
  std::call_once(once, [] { khz = measure(); });
  return khz;
}

}  // namespace backends::qemu
