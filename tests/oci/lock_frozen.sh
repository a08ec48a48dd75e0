#!/usr/bin/env bash
# oci.lock_frozen: `matchlock lock` writes Matchlockfile.lock; `pull --frozen` fails
# with exit 3 when the lock is missing or does not match the Matchlockfile.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"
proj="$TEST_TMP/proj"
mkdir -p "$proj/.git"
printf 'version = 1\n[sandbox]\nimage = "%s/matchlock/busybox:latest"\n' "$ML_REG_ANON" >"$proj/Matchlockfile"
cd "$proj"

run_ml pull --frozen
expect_rc 3
expect_contains "$ERR" "Matchlockfile.lock does not exist"

run_ml lock
expect_rc 0
[ -f Matchlockfile.lock ] || fail "no lock written"
grep -q "^manifest = \"sha256:" Matchlockfile.lock || fail "lock has no manifest: $(cat Matchlockfile.lock)"
grep -q "^rootfs = \"sha256:" Matchlockfile.lock || fail "lock has no rootfs: $(cat Matchlockfile.lock)"
cp Matchlockfile.lock "$TEST_TMP/first.lock"

XDG_CACHE_HOME="$TEST_TMP/other-cache" run_ml pull --frozen --json
expect_rc 0
grep -q "rootfs = \"$(json_field "$OUT" 'd["rootfs_sha256"]')\"" Matchlockfile.lock || fail "frozen pull built another rootfs"

run_ml lock   # idempotent
expect_rc 0
cmp -s Matchlockfile.lock "$TEST_TMP/first.lock" || fail "re-lock changed the file: $(diff "$TEST_TMP/first.lock" Matchlockfile.lock)"

printf 'version = 1\n[sandbox]\nimage = "%s/matchlock/layers:latest"\n' "$ML_REG_ANON" >Matchlockfile
run_ml pull --frozen
expect_rc 3
expect_contains "$ERR" "run \`matchlock lock\`"
run_ml lock
expect_rc 0
grep -q "matchlock/layers:latest" Matchlockfile.lock || fail "lock not updated"
! grep -q "matchlock/busybox" Matchlockfile.lock || fail "stale entry kept"
