# A cached task after an uncached one (issue 15 item 9): the uncached `ca` task
# (a company CA, say) before the cached `deps` is part of deps' layer: the
# first up runs both and captures the layer, the next up skips both (ca's file
# is in the layer, ca did not run again), `after` (uncached, after the last
# cached task) runs on every up; editing ca re-runs both. A cache = true task
# that `up` never runs is reported by validate, tasks and up with its position.
. "$(dirname "$0")/lib.sh"
nonce="$$-$(date +%s%N)"
write_matchlockfile cu "
[tasks.ca]
run = 'mkdir -p /opt/ca; cat /proc/sys/kernel/random/uuid > /opt/ca/stamp; echo ca-ran'
env = { NONCE = '$nonce', CA = 'one' }
[tasks.deps]
run = 'test -s /opt/ca/stamp || exit 9; mkdir -p /opt/deps; cat /proc/sys/kernel/random/uuid > /opt/deps/stamp; echo deps-ran'
needs = ['ca']
cache = true
[tasks.after]
run = 'echo after-ran; cat /opt/ca/stamp /opt/deps/stamp'
needs = ['deps']
[tasks.lonely]
run = 'true'
cache = true
" 'up = ["after"]'

state() {  # state TASK: its cache column in `matchlock tasks`
  run_ml tasks
  expect_rc 0
  printf '%s\n' "$OUT" | awk -v t="$1" '$1 == t { print $2 }'
}

# The task up never runs: validate, tasks and up say why it is never cached, with its line.
lonely_line=$(grep -n "^\[tasks.lonely\]" "$PROJ/Matchlockfile" | cut -d: -f1)
run_ml validate
expect_rc 0
expect_contains "$ERR" "Matchlockfile:$((lonely_line + 2)):"
expect_contains "$ERR" "task lonely: cache = true, but \`up\` does not run it"
[ "$(state deps)" = stale ] || fail "deps before any up: $(state deps)"
[ "$(state lonely)" = - ] || fail "lonely: $(state lonely)"
run_ml tasks
expect_contains "$ERR" "task lonely: cache = true, but \`up\` does not run it"

# 1. Cold: ca, deps and after run; deps' layer is captured (with ca's work in it).
run_ml up
expect_rc 0
expect_contains "$ERR" "task lonely: cache = true, but \`up\` does not run it"
expect_contains "$OUT" "ca-ran"
expect_contains "$OUT" "deps-ran"
expect_contains "$OUT" "after-ran"
expect_contains "$ERR" "task deps: cached layer saved"
run_ml exec cu -- cat /opt/ca/stamp /opt/deps/stamp
expect_rc 0
stamps1=$OUT
[ "$(state deps)" = cached ] || fail "deps after up: $(state deps)"
run_ml down cu
expect_rc 0

# 2. Warm: ca and deps come from the layer (neither runs); after runs and sees both files.
run_ml up
expect_rc 0
expect_contains "$ERR" "==> task ca (cached layer)"
expect_contains "$ERR" "==> task deps (cached layer)"
case "$OUT" in *ca-ran*|*deps-ran*) fail "a task of the cached layer ran again: $OUT" ;; esac
expect_contains "$OUT" "after-ran"
expect_contains "$OUT" "$stamps1"
run_ml exec cu -- cat /opt/ca/stamp /opt/deps/stamp
[ "$OUT" = "$stamps1" ] || fail "files of the layer: '$OUT', expected '$stamps1'"
run_ml down cu
expect_rc 0

# 3. Editing the uncached ca changes deps' key: both run again and a new layer is captured.
sed -i "s/CA = 'one'/CA = 'two'/" "$PROJ/Matchlockfile"
[ "$(state deps)" = stale ] || fail "deps after editing ca: $(state deps)"
run_ml up
expect_rc 0
expect_contains "$OUT" "ca-ran"
expect_contains "$OUT" "deps-ran"
expect_contains "$ERR" "task deps: cached layer saved"
run_ml exec cu -- cat /opt/ca/stamp /opt/deps/stamp
[ -n "$OUT" ] && [ "$OUT" != "$stamps1" ] || fail "ca and deps did not re-run: '$OUT'"
run_ml down cu
expect_rc 0
run_ml rm cu
expect_rc 0
for k in $(grep -l "\"file\": \"$PROJ/Matchlockfile\"" "$XDG_CACHE_HOME"/matchlock/layers/*.json); do
  rm -f "$k" "${k%.json}.ext4"  # this test's layers leave the shared cache
done
no_qemu_left
