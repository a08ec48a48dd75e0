# stdin/stdout are byte-exact and stream: 50 MiB of random bytes through `cat`
# keep their sha256; stderr stays apart from stdout.
. "$(dirname "$0")/lib.sh"
head -c $((50 << 20)) /dev/urandom >"$TEST_TMP/in"
want=$(sha256sum <"$TEST_TMP/in" | cut -d' ' -f1)
set +e
"$MATCHLOCK" run --rm --image "$BUSYBOX" -- cat <"$TEST_TMP/in" >"$TEST_TMP/big" 2>"$TEST_TMP/err"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "cat exited $rc: $(cat "$TEST_TMP/err")"
got=$(sha256sum <"$TEST_TMP/big" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "sha256 differs: sent $want, got $got ($(stat -c %s "$TEST_TMP/big") bytes)"
ml_run -- sh -c 'echo to-out; echo to-err >&2; echo more-out'
expect_rc 0
[ "$OUT" = "$(printf 'to-out\nmore-out')" ] || fail "stdout: $OUT"
expect_contains "$ERR" "to-err"
case "$OUT" in *to-err*) fail "stderr leaked into stdout" ;; esac
