#!/usr/bin/env bash
# oci.pull_faults: 500 then OK (retried), truncated body (resumed with Range),
# corrupted body (refused naming the digest, nothing published), hostile registry content.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"
layer=$(rig_layer_digests "$ML_IMG_DIR/busybox" | head -n 1)

rig_fault_proxy P500 --match "/blobs/$layer" --fail-status 500 --times 1
XDG_CACHE_HOME="$TEST_TMP/c500" run_ml pull --no-rootfs "$P500/matchlock/busybox:latest"
expect_rc 0
[ "$(rig_blob_gets "$P500" "$layer")" -ge 2 ] || fail "500 was not retried"
cache_clean "$TEST_TMP/c500"

rig_fault_proxy PT --match "/blobs/$layer" --truncate 0.5 --times 1
XDG_CACHE_HOME="$TEST_TMP/ctr" run_ml pull --no-rootfs "$PT/matchlock/busybox:latest"
expect_rc 0
[ -f "$TEST_TMP/ctr/matchlock/blobs/sha256/${layer#sha256:}" ] || fail "truncated layer not completed"
[ "$(rig_blob_gets "$PT" "$layer")" -ge 2 ] || fail "truncated body was not resumed"
cache_clean "$TEST_TMP/ctr"

rig_fault_proxy PC --match "/blobs/$layer" --corrupt
XDG_CACHE_HOME="$TEST_TMP/ccor" run_ml pull "$PC/matchlock/busybox:latest"
expect_rc 125
expect_contains "$ERR" "$layer"
expect_contains "$ERR" "digest mismatch"
[ ! -e "$TEST_TMP/ccor/matchlock/blobs/sha256/${layer#sha256:}" ] || fail "corrupt layer was published"
cache_clean "$TEST_TMP/ccor"
[ -z "$(ls "$TEST_TMP/ccor/matchlock/images")" ] || fail "an image record was written for a failed pull"

for kind in wrong-digest truncated descsize; do
  XDG_CACHE_HOME="$TEST_TMP/h-$kind" run_ml pull "$ML_REG_ANON/matchlock/hostile-$kind:latest"
  [ "$RC" -ne 0 ] || fail "hostile-$kind pulled"
  expect_contains "$ERR" "sha256:"
  cache_clean "$TEST_TMP/h-$kind"
  [ -z "$(ls "$TEST_TMP/h-$kind/matchlock/images")" ] || fail "hostile-$kind left an image record"
done
