# kill -9 of the supervisor: QEMU dies with it, ps says dead, down cleans up.
. "$(dirname "$0")/lib.sh"
write_matchlockfile dead ''
run_ml up
expect_rc 0
pid=$(record_field dead pid)
pgrep -af qemu-system | grep -qF "$TEST_TMP" || fail "no qemu running for the sandbox"
kill -9 "$pid"
for _ in $(seq 100); do pgrep -af qemu-system | grep -qF "$TEST_TMP" || break; sleep 0.1; done
no_qemu_left
run_ml ps
expect_rc 0
expect_contains "$OUT" "dead"
run_ml exec -- true
[ "$RC" -ne 0 ] || fail "exec in a dead sandbox succeeded"
expect_contains "$ERR" "dead"
run_ml down dead
expect_rc 0
run_ml ps
expect_contains "$OUT" "stopped"
run_ml rm dead
expect_rc 0
