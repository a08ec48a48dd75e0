# up --frozen: exit 3 without Matchlockfile.lock or when the lock does not pin
# the Matchlockfile's image; boots when it does; a lock pinning another manifest
# than the image resolves to fails with exit 3 and leaves nothing running.
# run --frozen (what docs/ci.md tells CI to use), TASK and `-- CMD` forms: the same.
. "$(dirname "$0")/lib.sh"
write_matchlockfile fz ''
run_ml up --frozen
expect_rc 3
expect_contains "$ERR" "Matchlockfile.lock does not exist"
[ ! -e "$XDG_STATE_HOME/matchlock/sandboxes/fz/sandbox.json" ] || fail "up --frozen booted without a lock"

run_ml lock
expect_rc 0
run_ml up --frozen
expect_rc 0
expect_contains "$OUT" "sandbox  fz (started)"
digest=$(record_field fz image_digest)
grep -q "manifest = \"$digest\"" Matchlockfile.lock || fail "booted $digest, lock: $(cat Matchlockfile.lock)"
run_ml up --frozen   # already running: still checked, still fine
expect_rc 0
run_ml down fz
expect_rc 0

# A lock pinning some other manifest: the booted image does not match it.
sed -i "s|manifest = \"$digest\"|manifest = \"sha256:$(printf '0%.0s' $(seq 64))\"|" Matchlockfile.lock
run_ml up --frozen
expect_rc 3
expect_contains "$ERR" "the lock pins sha256:0000"
[ "$(record_field fz state)" = stopped ] || fail "the mismatched sandbox kept running: $(record_field fz state)"
run_ml rm fz
expect_rc 0

# run --frozen: the stale lock refuses both forms before anything runs (exit 3).
write_matchlockfile fz '
[tasks.check]
run = "echo check-ran"'
run_ml run --frozen --rm check
expect_rc 3
expect_contains "$ERR" "the lock pins sha256:0000"
case "$OUT" in *check-ran*) fail "the task ran under a stale lock" ;; esac
run_ml run --frozen --rm -- echo cmd-ran
expect_rc 3
expect_contains "$ERR" "but the lock pins sha256:0000"
case "$OUT" in *cmd-ran*) fail "the command ran under a stale lock" ;; esac
rm Matchlockfile.lock
run_ml run --frozen --rm check
expect_rc 3
expect_contains "$ERR" "Matchlockfile.lock does not exist"
# A current lock: both forms run.
run_ml lock
expect_rc 0
run_ml run --frozen --rm check
expect_rc 0
expect_contains "$OUT" "check-ran"
run_ml run --frozen --rm -- echo cmd-ran
expect_rc 0
expect_contains "$OUT" "cmd-ran"
no_qemu_left
