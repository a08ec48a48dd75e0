#!/usr/bin/env bash
# bench/snapshot/up.sh: the time from `matchlock up` to the first output of its last `up`
# task, for a Matchlockfile whose `up` tasks take >= 5 s (a cached 5 s task, then an
# uncached one that prints "env-ready"), in one run:
#   first     nothing cached: boots cold, runs both tasks, captures the cached one's layer
#             and saves the snapshot of that state in the background (`down` waits for it)
#   layers    the task layer cached, --no-snapshot: boots cold, skips the cached task
#   resumed   the second `up` onward: resumes the snapshot saved after the first one's
#             tasks, skips the cached task
# and the ratio resumed / first (the wait a teammate saves on every later `up`).
#   bench/snapshot/up.sh [RUNS]       (default 3 of layers and resumed)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
mem=1968
bench_snapshot_init up $mem
runs=${1:-3}
work=$(mktemp -d /tmp/ml-bench-snapshot-up.XXXXXX)
export XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config"
cleanup() {
  "$ml" -f "$work/Matchlockfile" down >/dev/null 2>&1 || true
  forget
  rm -rf "$work"
}
trap cleanup EXIT
# A nonce of its own: this bench's task layer keys are its alone.
nonce="$$-$(date +%s%N)"
cat >"$work/Matchlockfile" <<TOML
version = 1
name = "bench-snapshot-up"
up = ["ready"]

[sandbox]
image = "oci-layout:$images/debian:latest"
cpus = 1
memory = "${mem}MiB"

[tasks.prepare]
description = "a slow, cacheable setup step (5 s)"
run = "sleep 5; echo prepared > /opt/prepared"
cache = true
env = { NONCE = "$nonce" }

[tasks.ready]
run = "cat /opt/prepared >/dev/null && echo env-ready"
needs = ["prepare"]
TOML
forget

# t ARGS...: seconds from starting `matchlock up ARGS` to its "env-ready" line; then down.
t() {
  local t0 line when=""
  t0=$(date +%s%N)
  while IFS= read -r line; do
    [ -z "$when" ] && [ "$line" = env-ready ] && when=$(date +%s%N)
  done < <("$ml" -f "$work/Matchlockfile" up --trust "$@" </dev/null 2>/dev/null)
  "$ml" -f "$work/Matchlockfile" down >/dev/null 2>&1
  [ -n "$when" ] || { echo "bench/snapshot/up: no env-ready from up $*" >&2; exit 1; }
  awk -v a="$t0" -v b="$when" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
}

echo "bench/snapshot/up: up to the first output of its last task (a 5 s cached task before it), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
t_down0=$(date +%s%N)
first=$(t)
first_total=$(awk -v a="$t_down0" -v b="$(date +%s%N)" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }')
echo "first   (boots cold, runs both tasks):           $first s ($first_total s to the end of its down, which waits for the snapshot after the tasks)"
layers=()
for _ in $(seq "$runs"); do layers+=("$(t --no-snapshot)"); done
resumed=()
for _ in $(seq "$runs"); do resumed+=("$(t)"); done
layers_med=$(printf '%s\n' "${layers[@]}" | median)
resumed_med=$(printf '%s\n' "${resumed[@]}" | median)
echo "layers  (boots cold, cached task skipped):        ${layers[*]} s (median $layers_med s)"
echo "resumed (memory snapshot, cached task skipped):   ${resumed[*]} s (median $resumed_med s)"
awk -v r="$resumed_med" -v f="$first" -v l="$layers_med" \
  'BEGIN { printf "up to first task output: resumed/first = %.3f, resumed/layers = %.3f\n", r / f, r / l }'
