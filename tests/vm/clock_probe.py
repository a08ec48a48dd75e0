#!/usr/bin/env python3
"""Measures a sandbox's clock against the host's, NTP style, for tests/vm/clock.sh.

Runs `matchlock exec -- bash -c LOOP` where LOOP answers each line the host writes with
the guest's CLOCK_REALTIME and CLOCK_MONOTONIC (bash builtins: no fork in the guest). For a
probe the host notes t1 before writing and t2 when the answer arrives: the guest's offset
is g - (t1 + t2) / 2, uncertain by +-(t2 - t1) / 2. Every INTERVAL seconds for SECONDS, the
probe with the shortest round trip of a burst counts. Prints every sample; exits 1 if an
offset is provably beyond LIMIT_MS (its whole uncertainty interval lies outside), or if the
guest's monotonic clock ran at a rate more than 1 % away from the host's.
"""
import subprocess
import sys
import time

matchlock, seconds, interval, limit_ms = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
loop = r'''
while read -r h; do
  read -r up _ </proc/uptime
  echo "$h $EPOCHREALTIME $up"
done'''
p = subprocess.Popen([matchlock, "exec", "--", "bash", "-c", loop], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     text=True, bufsize=1)


def probe():
    t1 = time.time_ns()
    p.stdin.write(f"{t1}\n")
    p.stdin.flush()
    line = p.stdout.readline()
    t2 = time.time_ns()
    if not line:
        sys.exit(f"clock_probe: the guest loop ended (exit {p.wait()})")
    _, real, up = line.split()
    guest_ns = int(real.replace(".", "")) * 1000  # EPOCHREALTIME: seconds.microseconds
    return (t2 - t1) / 1e6, (guest_ns - (t1 + t2) // 2) / 1e6, float(up), time.monotonic()


def best_of_burst(n=5):
    return min((probe() for _ in range(n)), key=lambda s: s[0])


bad = 0
first = best_of_burst()
start = time.monotonic()
last = first
while True:
    rtt, offset, up, host_mono = last = best_of_burst()
    beyond = abs(offset) - rtt / 2 > limit_ms
    bad += beyond
    print(f"t={host_mono - start:5.1f}s offset {offset:+8.1f} ms +- {rtt / 2:6.1f} ms{'  BEYOND LIMIT' if beyond else ''}")
    if host_mono - start >= seconds:
        break
    time.sleep(interval)
p.stdin.close()
p.wait()
host_elapsed = last[3] - first[3]
guest_elapsed = last[2] - first[2]
rate = guest_elapsed / host_elapsed if host_elapsed > 0 else 0
print(f"guest monotonic ran {guest_elapsed:.2f} s while the host's ran {host_elapsed:.2f} s (rate {rate:.4f})")
if abs(rate - 1) > 0.01:
    print("FAIL: the guest's clock rate is off by more than 1 %")
    sys.exit(1)
if bad:
    print(f"FAIL: {bad} sample(s) provably more than {limit_ms} ms off")
    sys.exit(1)
print(f"every sample within {limit_ms} ms of the host (to the probe's uncertainty)")
