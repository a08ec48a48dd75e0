# Cached task layers (`cache = true`): after a cached `up` task succeeds its
# changes are captured as a layer; the next `up` stacks the layer under a fresh
# writable disk and skips the task (its files, and its deletions, are there);
# changing an input re-runs that task on top of the earlier layer; `tasks`
# shows cached/stale/-; gc keeps the newest layer per task and the ones a
# sandbox uses. Prints the time a cached layer saves.
. "$(dirname "$0")/lib.sh"
# The VM tests share one cache dir: a nonce in the task env keeps earlier runs' layers out of the keys.
nonce="$$-$(date +%s%N)"
echo one >"$PROJ/input.txt"
write_matchlockfile ca "
[tasks.base]
run = 'mkdir -p /opt/base; echo base > /opt/base/file; echo base-ran'
cache = true
env = { NONCE = '$nonce' }
[tasks.deps]
description = 'slow dependency install'
run = 'mkdir -p /opt/deps; i=0; while [ \$i -lt 1500 ]; do echo \$i > /opt/deps/f\$i; i=\$((i+1)); done; rm /bin/yes; cat /proc/sys/kernel/random/uuid > /opt/deps/stamp; echo deps-ran'
needs = ['base']
cache = true
inputs = ['input.txt']
env = { NONCE = '$nonce' }
[tasks.setup]
run = 'ls /opt/deps | wc -l > /root/count; echo setup-ran'
needs = ['deps']
" 'up = ["setup"]'

state() {  # state TASK: its cache column in `matchlock tasks`
  run_ml tasks
  expect_rc 0
  printf '%s\n' "$OUT" | awk -v t="$1" '$1 == t { print $2 }'
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

[ "$(state base)" = stale ] || fail "base before any up: $(state base)"
[ "$(state deps)" = stale ] || fail "deps before any up: $(state deps)"
[ "$(state setup)" = - ] || fail "setup is not cacheable: $(state setup)"

# 1. Cold: every task runs, base and deps are captured.
t0=$(date +%s%N)
run_ml up
expect_rc 0
cold_ms=$(ms_since "$t0")
expect_contains "$OUT" "base-ran"
expect_contains "$OUT" "deps-ran"
expect_contains "$OUT" "setup-ran"
expect_contains "$ERR" "task base: cached layer saved"
expect_contains "$ERR" "task deps: cached layer saved"
run_ml exec ca -- cat /opt/deps/stamp
expect_rc 0
stamp1=$OUT
[ "$(state base)" = cached ] || fail "base after up: $(state base)"
[ "$(state deps)" = cached ] || fail "deps after up: $(state deps)"
run_ml down ca
expect_rc 0

# 2. Warm: base and deps come from the layer; setup runs and sees their files.
t0=$(date +%s%N)
run_ml up
expect_rc 0
warm_ms=$(ms_since "$t0")
expect_contains "$ERR" "==> task base (cached layer)"
expect_contains "$ERR" "==> task deps (cached layer)"
case "$OUT" in *deps-ran*|*base-ran*) fail "a cached task ran again: $OUT" ;; esac
expect_contains "$OUT" "setup-ran"
expect_contains "$OUT" "layer    "
run_ml exec ca -- sh -c 'cat /opt/deps/stamp; cat /root/count; cat /opt/base/file; [ -e /bin/yes ] && echo yes-is-back; true'
expect_rc 0
[ "$OUT" = "$stamp1
1501
base" ] || fail "files of the cached layer in the new sandbox: '$OUT' (stamp $stamp1)"
echo "cache: cold up (tasks run + 2 layers captured) ${cold_ms} ms, warm up from the layer ${warm_ms} ms, saved $((cold_ms - warm_ms)) ms" >&2
run_ml down ca
expect_rc 0

# 3. A changed input re-runs deps (on top of base's layer) and captures it again.
echo two >"$PROJ/input.txt"
[ "$(state base)" = cached ] || fail "base after the input change: $(state base)"
[ "$(state deps)" = stale ] || fail "deps after the input change: $(state deps)"
run_ml up
expect_rc 0
expect_contains "$ERR" "==> task base (cached layer)"
expect_contains "$OUT" "deps-ran"
expect_contains "$ERR" "task deps: cached layer saved"
run_ml exec ca -- cat /opt/deps/stamp
stamp2=$OUT
[ -n "$stamp2" ] && [ "$stamp2" != "$stamp1" ] || fail "deps did not re-run: '$stamp2'"
run_ml down ca
expect_rc 0

# 4. Two stacked layers (deps' new one was captured on base's): both skipped, all files there.
run_ml up
expect_rc 0
expect_contains "$ERR" "==> task deps (cached layer)"
run_ml exec ca -- sh -c 'cat /opt/deps/stamp; cat /opt/base/file; ls /opt/deps | wc -l; [ -e /bin/yes ] && echo yes-is-back; true'
[ "$OUT" = "$stamp2
base
1501" ] || fail "stacked layers: '$OUT'"
layers=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["layers"]))' "$XDG_STATE_HOME/matchlock/sandboxes/ca/sandbox.json")
[ "$layers" = 2 ] || fail "expected 2 attached layers, got $layers"
run_ml down ca
expect_rc 0
run_ml rm ca
expect_rc 0

# 5. gc: of deps' two layers only the newest stays, with the base layer under it.
# (On a copy of this test's layers: gc on the shared cache would touch other tests' files.)
gc_cache="$TEST_TMP/gc-cache"
mkdir -p "$gc_cache/matchlock/layers"
keys=$(grep -l "\"file\": \"$PROJ/Matchlockfile\"" "$XDG_CACHE_HOME"/matchlock/layers/*.json)
for k in $keys; do
  cp "$k" "$gc_cache/matchlock/layers/"
  cp --sparse=always "${k%.json}.ext4" "$gc_cache/matchlock/layers/"
done
[ "$(ls "$gc_cache"/matchlock/layers/*.ext4 | wc -l)" = 3 ] || fail "expected 3 layers (base, deps x2): $(ls "$gc_cache/matchlock/layers")"
oldest_deps=$(python3 - "$gc_cache"/matchlock/layers/*.json <<'PY'
import json, sys
deps = sorted((json.load(open(p))["created_unix"], p) for p in sys.argv[1:] if json.load(open(p))["task"] == "deps")
print(deps[0][1] if len(deps) == 2 else "")
PY
)
[ -n "$oldest_deps" ] || fail "expected two deps layers"
XDG_CACHE_HOME="$gc_cache" run_ml gc --json
expect_rc 0
removed=$(printf '%s\n' "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"])')
[ "$removed" = 1 ] || fail "gc removed $removed layers: $OUT"
[ ! -e "$oldest_deps" ] && [ ! -e "${oldest_deps%.json}.ext4" ] || fail "gc kept the outdated deps layer"
[ "$(ls "$gc_cache"/matchlock/layers/*.ext4 | wc -l)" = 2 ] || fail "after gc: $(ls "$gc_cache/matchlock/layers")"
for k in $keys; do rm -f "$k" "${k%.json}.ext4"; done  # this test's layers leave the shared cache
no_qemu_left
