#!/usr/bin/env bash
# oci.images_gc: `images` shows where an image came from; `rmi` forgets it; `gc`
# reclaims its blobs and rootfs with sizes, and keeps what other images use.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"
store="$XDG_CACHE_HOME/matchlock"

run_ml pull "$ML_REG_ANON/matchlock/busybox:latest"
expect_rc 0
run_ml pull "$ML_REG_ANON/matchlock/layers:latest"
expect_rc 0
run_ml images --json
expect_rc 0
expect_json "$OUT"
n=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 2 ] || fail "expected 2 images, got $n"
expect_contains "$OUT" "\"source\": \"http://$ML_REG_ANON/matchlock/busybox\""
run_ml images
expect_contains "$OUT" "$ML_REG_ANON/matchlock/layers:latest"

run_ml gc --json
expect_rc 0
[ "$(json_field "$(printf '%s' "$OUT" | tr -d '\n')" 'd["blobs"]')" = 0 ] || fail "gc removed blobs still in use: $OUT"

run_ml rmi "$ML_REG_ANON/matchlock/layers"
expect_rc 0
expect_contains "$OUT" "matchlock/layers:latest"
run_ml rmi "$ML_REG_ANON/matchlock/layers"
expect_rc 125
expect_contains "$ERR" "no pulled image"

run_ml gc --json
expect_rc 0
out=$(printf '%s' "$OUT" | tr -d '\n')
[ "$(json_field "$out" 'd["blobs"]')" -ge 5 ] || fail "gc did not remove the layers image blobs: $OUT"
[ "$(json_field "$out" 'd["rootfs"]')" = 1 ] || fail "gc did not remove the layers rootfs: $OUT"
[ "$(json_field "$out" 'd["bytes"]')" -gt 1000000 ] || fail "reclaimed size not reported: $OUT"
# busybox is intact: pulling again downloads nothing
run_ml pull --json "$ML_REG_ANON/matchlock/busybox:latest"
expect_rc 0
expect_contains "$OUT" '"outcome":"cached"'
case "$OUT" in *'"outcome":"downloaded"'*) fail "busybox blobs were collected" ;; esac
cache_clean "$XDG_CACHE_HOME"
