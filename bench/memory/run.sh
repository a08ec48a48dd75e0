#!/usr/bin/env bash
# bench/memory: the RSS of the process that owns a sandbox's network (issue 12 item 7), in one
# run, against the goals:
#   idle           <= 20 MiB       a fresh `up` supervisor (busybox, a network, no flow yet)
#   under a flood  <= idle + 64 MiB (SYN flood, slow readers, connections past the flow cap)
#   after          near idle       (<= idle + 4 MiB, what the tests require) once the flows closed
# Part 1: a real `matchlock up` of the rig's busybox image with [network] allowing one loopback
#   upstream: idle, peak during 8 parallel 64 MiB downloads from the guest, after they ended.
# Part 2: tests/net/flood.sh (net::Stack + net::Proxy in proxy_rig, no VM) prints idle, the peak
#   under each flood and after.
#   bench/memory/run.sh [BUILD_DIR]     needs root (mount/network namespaces, TAP, raw sockets)
# Prints numbers (MiB) and the goals; exits 0 (a bench, not a test).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
ML=${MATCHLOCK:-$BUILD/matchlock}
[ -x "$ML" ] || { echo "bench/memory: no matchlock binary at $ML" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench/memory: needs root" >&2; exit 1; }
if [ -z "${ML_BENCH_NS:-}" ]; then  # a private mount namespace: /etc/hosts gets bench.test
  ML_BENCH_NS=1 exec unshare -m --propagation private -- bash "$0" "$@"
fi

T=$(mktemp -d "${TMPDIR:-/var/tmp}/ml-bench-mem.XXXXXX")
export XDG_CACHE_HOME=${BENCH_CACHE:-$BUILD/vm-test-cache} XDG_STATE_HOME=$T/state XDG_CONFIG_HOME=$T/config
PIDS=()
cleanup() {
  (cd "$T/proj" 2>/dev/null && "$ML" down >/dev/null 2>&1) || true
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

IMAGE_DIR=$BUILD/rig-images/busybox
if [ ! -f "$IMAGE_DIR/index.json" ]; then
  python3 "$SRC/tests/rig/registry.py" up --dir "$T/rig" --images "$T/images" >/dev/null
  python3 "$SRC/tests/rig/registry.py" down --dir "$T/rig" >/dev/null
  IMAGE_DIR=$T/images/busybox
fi

cp /etc/hosts "$T/hosts"
echo "127.0.0.1 bench.test" >>"$T/hosts"
mount --bind "$T/hosts" /etc/hosts
python3 "$SRC/tests/net/upstream_server.py" --port-file "$T/up.port" --log /dev/null 2>/dev/null &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/up.port" ] && break; sleep 0.1; done
UP=$(cat "$T/up.port")

mkdir -p "$T/proj"
cat >"$T/proj/Matchlockfile" <<TOML
version = 1
name = "benchmem"
[sandbox]
image = "oci-layout:$IMAGE_DIR"
cpus = 2
memory = "512MiB"
[network]
allow = ["bench.test"]
block_private = false
TOML
cd "$T/proj"
echo "bench/memory: booting a sandbox (up)" >&2
"$ML" up --trust >"$T/up.log" 2>&1 || { cat "$T/up.log" >&2; exit 1; }
PID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$XDG_STATE_HOME/matchlock/sandboxes/benchmem/sandbox.json")
"$ML" exec -- wget -q -O /dev/null "http://bench.test:$UP/warm"
sleep 3
IDLE=$(kib "$PID" VmRSS)
PEAK=$IDLE
"$ML" exec -- sh -c "for i in 1 2 3 4 5 6 7 8; do wget -q -O /dev/null 'http://bench.test:$UP/big?n=67108864' & done; wait" &
EXECP=$!
while kill -0 "$EXECP" 2>/dev/null; do
  r=$(kib "$PID" VmRSS); [ "$r" -gt "$PEAK" ] && PEAK=$r
  sleep 0.1
done
wait "$EXECP" || echo "bench/memory: the downloads failed" >&2
sleep 3
AFTER=$(kib "$PID" VmRSS)
"$ML" down >/dev/null

echo "supervisor of \`up\` (busybox, network on; RSS in MiB)"
echo "  idle                         $(mib "$IDLE")   (goal <= 20)"
echo "  8 x 64 MiB downloads, peak   $(mib "$PEAK")   (+$(mib $((PEAK - IDLE))); goal <= +64)"
echo "  after they ended             $(mib "$AFTER")   (+$(mib $((AFTER - IDLE))); goal near idle, <= +4)"

echo "bench/memory: floods through net::Stack + net::Proxy (tests/net/flood.sh)" >&2
OUT=$(MATCHLOCK="$ML" MATCHLOCK_SOURCE_DIR="$SRC" MATCHLOCK_BINARY_DIR="$BUILD" bash "$SRC/tests/net/flood.sh" 2>&1) ||
  { printf '%s\n' "$OUT" | tail -20; echo "bench/memory: tests/net/flood.sh failed"; }
num() { printf '%s\n' "$OUT" | sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" | head -1; }
FIDLE=$(num idle_rss)
echo "net::Stack + net::Proxy under floods from the guest (proxy_rig, MTU 65520; RSS in MiB)"
echo "  idle                              $(mib "$FIDLE")"
for k in syn_flood_peak_rss:"20000 SYNs, peak          " slow_reader_peak_rss:"200 slow readers, peak     " \
         idle_flood_peak_rss:"700 connections (cap 256) " after_rss:"after the flows closed     "; do
  v=$(num "${k%%:*}")
  echo "  ${k#*:}      $(mib "$v")   (+$(mib $((v - FIDLE))); goal <= +64$([ "${k%%:*}" = after_rss ] && echo ", near idle"))"
done
