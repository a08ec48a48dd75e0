#!/usr/bin/env bash
# bench/snapshot: P9 (docs/SPECIFICATION.md), `matchlock run -- true` resumed from a
# memory snapshot vs the same command booted cold (--no-snapshot), same image, same
# machine, in one run: prints both medians and their ratio (goal <= 0.2), the
# snapshot's size on disk (allocated vs apparent), and the host memory of a resumed
# sandbox: QEMU's resident pages, split into those shared with the snapshot's RAM file
# (clean, page cache) and its private (copy-on-write) ones.
#   bench/snapshot/run.sh [RUNS]            (default 5 of each)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mem=1984
bench_snapshot_init run $mem
runs=${1:-5}
work=$(mktemp -d /tmp/ml-bench-snapshot.XXXXXX)
trap 'rm -rf "$work"' EXIT
export XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config"
cat >"$work/Matchlockfile" <<TOML
version = 1
name = "bench-snapshot"
[sandbox]
image = "oci-layout:$images/debian:latest"
cpus = 1
memory = "${mem}MiB"
TOML
forget
t() {  # t ARGS...: wall seconds of `matchlock run ARGS -- true`
  local t0 t1
  t0=$(date +%s.%N)
  "$ml" -f "$work/Matchlockfile" run --rm --trust "$@" -- true </dev/null >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

echo "bench/snapshot: matchlock run -- true, $runs cold (--no-snapshot) and $runs resumed, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
save=$(t)
echo "first run (boots cold and saves the snapshot): ${save} s"
cold=() resumed=()
for _ in $(seq "$runs"); do
  cold+=("$(t --no-snapshot)")
  resumed+=("$(t)")
done
cold_med=$(printf '%s\n' "${cold[@]}" | median)
res_med=$(printf '%s\n' "${resumed[@]}" | median)
echo "cold:    ${cold[*]} s (median $cold_med s)"
echo "resumed: ${resumed[*]} s (median $res_med s)"
awk -v r="$res_med" -v c="$cold_med" 'BEGIN { printf "P9 resumed/cold = %.3f (goal <= 0.2)\n", r / c }'

key=$(for d in "$snapdir"/*/; do grep -q "\"memory_mib=$mem\"" "$d/meta.json" 2>/dev/null && basename "$d"; done | head -1)
[ -n "$key" ] || { echo "bench/snapshot: no snapshot was saved" >&2; exit 1; }
alloc=$(du -sk "$snapdir/$key" | cut -f1)
apparent=$(du -sk --apparent-size "$snapdir/$key" | cut -f1)
echo "snapshot $key: $((alloc / 1024)) MiB on disk ($((apparent / 1024)) MiB apparent): $(cd "$snapdir/$key" && for f in ram state upper.ext4; do printf '%s %s MiB  ' "$f" $(( $(du -k "$f" | cut -f1) / 1024 )); done)"

# Host memory of a resumed sandbox, measured while it runs `sleep`.
"$ml" -f "$work/Matchlockfile" run --rm --trust -- sleep 8 </dev/null >/dev/null &
runner=$!
pid=""
for _ in $(seq 100); do
  pid=$(pgrep -f "mem-path=$snapdir/$key/ram" | head -1 || true)
  [ -n "$pid" ] && break
  sleep 0.1
done
sleep 4
if [ -n "$pid" ]; then
  rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
  read -r shared private < <(awk -v f="$snapdir/$key/ram" '
    /^[0-9a-f]+-[0-9a-f]+ / { inram = ($6 == f) }
    inram && /^(Shared_Clean|Shared_Dirty):/ { s += $2 }
    inram && /^(Private_Clean):/ { s += $2 }
    inram && /^Private_Dirty:/ { p += $2 }
    END { print s + 0, p + 0 }' "/proc/$pid/smaps")
  echo "resumed sandbox: QEMU RSS $((rss / 1024)) MiB; guest RAM mapped from the snapshot: $((shared / 1024)) MiB clean (page cache, shared with every sandbox resumed from it), $((private / 1024)) MiB private (copy-on-write)"
else
  echo "resumed sandbox: QEMU process not found"
fi
wait "$runner" || true
forget
