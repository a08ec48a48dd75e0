#!/usr/bin/env bash
# oci.pull_resume: kill -9 in the middle of a blob download leaves no corrupt entry;
# the next pull resumes the .partial with a Range request and verifies the whole blob.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
. "$(dirname "$0")/lib.sh"
layer=$(rig_layer_digests "$ML_IMG_DIR/busybox" | head -n 1)
hex=${layer#sha256:}
blobs="$XDG_CACHE_HOME/matchlock/blobs/sha256"

rig_fault_proxy PS --match "/blobs/$layer" --stall-after 65536
"$MATCHLOCK" pull --no-rootfs "$PS/matchlock/busybox:latest" >"$TEST_TMP/bg.out" 2>&1 &
pid=$!
for _ in $(seq 200); do
  [ -f "$blobs/$hex.partial" ] && [ "$(stat -c %s "$blobs/$hex.partial")" -ge 65536 ] && break
  sleep 0.1
done
[ "$(stat -c %s "$blobs/$hex.partial" 2>/dev/null || echo 0)" -ge 65536 ] || fail "download never reached 64 KiB: $(cat "$TEST_TMP/bg.out")"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
[ ! -e "$blobs/$hex" ] || fail "a blob was published by the killed pull"

run_ml pull --json "$ML_REG_ANON/matchlock/busybox:latest"
expect_rc 0
offset=$(printf '%s\n' "$OUT" | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    if d.get("event") == "layer_start" and d["digest"] == sys.argv[1]: print(d["offset"])' "$layer")
[ "${offset:-0}" -ge 65536 ] || fail "the second pull did not resume (offset '${offset}')"
[ "$(sha256sum "$blobs/$hex" | cut -d' ' -f1)" = "$hex" ] || fail "resumed blob is corrupt"
cache_clean "$XDG_CACHE_HOME"
