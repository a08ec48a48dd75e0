#!/usr/bin/env bash
# oci.pull_anon: every fixture image from the anonymous registry yields an
# e2fsck-clean ext4, bit-identical across two cache dirs; index/list platform selection.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"

for tag in busybox:latest busybox:docker layers:latest multiarch:latest multiarch:docker; do
  pull_twice "$ML_REG_ANON/matchlock/$tag"
done
# multiarch: linux/amd64 chosen; the index digest is recorded
XDG_CACHE_HOME="$TEST_TMP/cache1" run_ml images --json
expect_rc 0
idx=$(printf '%s' "$OUT" | python3 -c 'import json,sys; print([i["index"] for i in json.load(sys.stdin) if i["reference"].endswith("multiarch:latest")][0])')
[ "$idx" = "$(layout_manifest "$ML_IMG_DIR/multiarch")" ] || fail "multiarch index digest $idx"
# arm64 variant of the same index resolves to another manifest (blobs only: not runnable here)
run_ml pull --no-rootfs --platform linux/arm64 "$ML_REG_ANON/matchlock/multiarch:latest"
expect_rc 0
run_ml pull --platform linux/s390x "$ML_REG_ANON/matchlock/multiarch:latest"
expect_rc 125
expect_contains "$ERR" "no image for platform linux/s390x"
expect_contains "$ERR" "linux/arm64/v8"
cache_clean "$XDG_CACHE_HOME"
