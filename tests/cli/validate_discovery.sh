# Without -f, the Matchlockfile is found in the current directory or the nearest
# parent, but not above the repository root (the directory holding .git).
source "$(dirname "$0")/lib.sh"
mkdir -p "$TEST_TMP/outer/repo/.git" "$TEST_TMP/outer/repo/src/deep"
printf 'version = 1\n[sandbox]\nimage = "alpine"\n' >"$TEST_TMP/outer/repo/Matchlockfile"
cd "$TEST_TMP/outer/repo/src/deep"
run_ml validate
expect_rc 0
expect_contains "$OUT" "$TEST_TMP/outer/repo/Matchlockfile: ok"
# A file above the repository root is not used.
mv "$TEST_TMP/outer/repo/Matchlockfile" "$TEST_TMP/outer/Matchlockfile"
run_ml validate
expect_rc 2
expect_contains "$ERR" "no Matchlockfile in $TEST_TMP/outer/repo/src/deep or its parents up to $TEST_TMP/outer/repo"
# -f that does not exist.
run_ml -f "$TEST_TMP/nope" validate
expect_rc 2
expect_contains "$ERR" "matchlock: error: $TEST_TMP/nope: no such file"
