#!/usr/bin/env bash
# oci.pull_concurrent: two simultaneous pulls of one image into one cache fetch each
# blob once (file locks), and both succeed with the same result.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"
layer=$(rig_layer_digests "$ML_IMG_DIR/busybox" | head -n 1)

rig_fault_proxy P --rate 300000   # slow blob bodies so the pulls overlap
"$MATCHLOCK" pull --json "$P/matchlock/busybox:latest" >"$TEST_TMP/a.out" 2>"$TEST_TMP/a.err" &
a=$!
"$MATCHLOCK" pull --json "$P/matchlock/busybox:latest" >"$TEST_TMP/b.out" 2>"$TEST_TMP/b.err" &
b=$!
wait "$a" || fail "first pull failed: $(cat "$TEST_TMP/a.err")"
wait "$b" || fail "second pull failed: $(cat "$TEST_TMP/b.err")"
[ "$(rig_blob_gets "$P" "$layer")" = 1 ] || fail "layer fetched $(rig_blob_gets "$P" "$layer") times"
ra=$(tail -n 1 "$TEST_TMP/a.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rootfs_sha256"])')
rb=$(tail -n 1 "$TEST_TMP/b.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rootfs_sha256"])')
[ -n "$ra" ] && [ "$ra" = "$rb" ] || fail "different results: $ra vs $rb"
cache_clean "$XDG_CACHE_HOME"
