# up -> two concurrent execs -> ps -> logs -> up again -> down -> rm; the
# supervisor outlives the CLI, and nothing is left running afterwards.
. "$(dirname "$0")/lib.sh"
write_matchlockfile lc '
[sandbox.env]
FROM_SANDBOX = "sandbox"
[tasks.setup]
run = "echo setup-ran > /root/setup-marker; echo setup output"
' 'up = ["setup"]'
run_ml up --dry-run
expect_rc 0
expect_contains "$OUT" "--task setup"

start=$(date +%s%N)
run_ml up
expect_rc 0
echo "cold up: $(( ($(date +%s%N) - start) / 1000000 )) ms" >&2
expect_contains "$OUT" "sandbox  lc (started)"
expect_contains "$OUT" "setup output"
expect_contains "$OUT" "accel"
pid=$(record_field lc pid)
kill -0 "$pid" || fail "supervisor $pid not running after up returned"

# The up task ran in the sandbox; env from [sandbox.env] reaches execs.
run_ml exec -- sh -c 'cat /root/setup-marker; echo "$FROM_SANDBOX"'
expect_rc 0
[ "$OUT" = "setup-ran
sandbox" ] || fail "exec output: $OUT"

# Two concurrent execs, each waiting for the other: only passes if both run at once.
"$MATCHLOCK" exec lc -- sh -c 'touch /tmp/a; i=0; while [ ! -e /tmp/b ]; do sleep 0.1; i=$((i+1)); [ $i -gt 600 ] && exit 9; done; echo A' >"$TEST_TMP/a.out" 2>&1 &
pa=$!
"$MATCHLOCK" exec lc -- sh -c 'touch /tmp/b; i=0; while [ ! -e /tmp/a ]; do sleep 0.1; i=$((i+1)); [ $i -gt 600 ] && exit 9; done; echo B' >"$TEST_TMP/b.out" 2>&1 &
pb=$!
wait $pa || fail "exec A: $(cat "$TEST_TMP/a.out")"
wait $pb || fail "exec B: $(cat "$TEST_TMP/b.out")"
[ "$(cat "$TEST_TMP/a.out")" = A ] || fail "exec A output: $(cat "$TEST_TMP/a.out")"
[ "$(cat "$TEST_TMP/b.out")" = B ] || fail "exec B output: $(cat "$TEST_TMP/b.out")"

# Exit codes, stdin and -e pass through.
run_ml exec -e X=flag -- sh -c 'read l; echo "$l $X"; exit 3' <<<"piped"
expect_rc 3
[ "$OUT" = "piped flag" ] || fail "stdin/env: $OUT"

run_ml ps
expect_rc 0
expect_contains "$OUT" "lc"
expect_contains "$OUT" "running"
run_ml ps --json
expect_rc 0
expect_json "$OUT"
state=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print([s["state"] for s in json.load(sys.stdin) if s["name"]=="lc"][0])')
[ "$state" = running ] || fail "ps --json state: $state"

run_ml logs
expect_rc 0
expect_contains "$OUT" "exec sh -c"
expect_contains "$OUT" "exited 3"
run_ml logs --console
expect_rc 0
[ -n "$OUT" ] || fail "empty console log"

# Warm `up`: already running, same Matchlockfile.
start=$(date +%s%N)
run_ml up
expect_rc 0
echo "warm up (already running): $(( ($(date +%s%N) - start) / 1000000 )) ms" >&2
expect_contains "$OUT" "already running"
[ "$(record_field lc pid)" = "$pid" ] || fail "second up restarted the supervisor"
run_ml up --json
expect_rc 0
expect_json "$OUT"

run_ml rm lc
[ "$RC" -ne 0 ] || fail "rm of a running sandbox succeeded"

run_ml down
expect_rc 0
expect_contains "$OUT" "lc stopped"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "supervisor still running after down"
no_qemu_left
run_ml ps
expect_contains "$OUT" "stopped"
[ ! -e "$XDG_STATE_HOME/matchlock/sandboxes/lc/upper.ext4" ] || fail "down kept the writable disk"
run_ml exec -- true
[ "$RC" -ne 0 ] || fail "exec in a stopped sandbox succeeded"
run_ml rm lc
expect_rc 0
[ ! -e "$XDG_STATE_HOME/matchlock/sandboxes/lc" ] || fail "rm left the state dir"
