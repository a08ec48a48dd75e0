#!/usr/bin/env bash
# bench/net: download throughput through net::Stack (TAP rig) vs direct loopback TCP, and TCP
# connect latency p50/p99 through the stack vs direct. Goal: throughput ratio >= 0.5.
#   NET_RIG=build/tests/net_rig bench/net/run.sh [SIZE_MIB (default 512)] [CONNECTS (default 200)]
# Needs root (netns + TAP). Prints one line per measurement and the ratios.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rig="${NET_RIG:-$here/../../build/tests/net_rig}"
[ -x "$rig" ] || { echo "bench/net: net_rig not found at $rig (set NET_RIG)" >&2; exit 2; }
mib=${1:-512}
connects=${2:-200}
work=$(mktemp -d /tmp/mlnet-bench.XXXXXX)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
mkdir data
head -c "${mib}M" /dev/zero > data/blob
python3 "$here/../../tests/net/upstream.py" "$work/port" http "$work/data" >/dev/null 2>&1 &
server=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
port=$(cat port)

speed() {  # bytes/s of the best of 3 downloads, as MiB/s
  best=0
  for _ in 1 2 3; do
    s=$("$@" 2>/dev/null | tail -1)
    best=$(awk -v a="$best" -v b="$s" 'BEGIN { print (b > a) ? b : a }')
  done
  awk -v s="$best" 'BEGIN { printf "%.0f", s / 1048576 }'
}
pct() {  # pct FILE P: the P-th percentile (ms) of a column of seconds
  sort -g "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int((NR - 1) * p / 100) + 1; printf "%.3f", v[i] * 1000 }'
}

direct=$(speed curl -s -o /dev/null -w '%{speed_download}\n' "http://127.0.0.1:$port/blob")
echo "direct loopback download:   ${direct} MiB/s"
for mtu in 1500 65520; do
  via=$(speed "$rig" --mtu "$mtu" -- curl -s -o /dev/null -w '%{speed_download}\n' "http://192.0.2.1:$port/blob")
  ratio=$(awk -v a="$via" -v b="$direct" 'BEGIN { printf "%.2f", a / b }')
  echo "through the stack, MTU $mtu: ${via} MiB/s  ratio ${ratio} (goal >= 0.5)"
done

loop="for i in \$(seq $connects); do curl -s -o /dev/null -w '%{time_connect}\n' http://ADDR:$port/none; done"
bash -c "${loop//ADDR/127.0.0.1}" > direct.lat
"$rig" -- bash -c "${loop//ADDR/192.0.2.1}" > stack.lat
echo "connect latency direct:      p50 $(pct direct.lat 50) ms  p99 $(pct direct.lat 99) ms  ($connects connects)"
echo "connect latency via stack:   p50 $(pct stack.lat 50) ms  p99 $(pct stack.lat 99) ms  ($connects connects)"
