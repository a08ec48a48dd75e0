# `matchlock validate -f FILE` prints "FILE: ok" and exits 0 for the main example.
source "$(dirname "$0")/lib.sh"
run_ml validate -f "$MATCHLOCK_SOURCE_DIR/Matchlockfile.example"
expect_rc 0
expect_contains "$OUT" "Matchlockfile.example: ok"
[ -z "$ERR" ] || fail "unexpected stderr: $ERR"
