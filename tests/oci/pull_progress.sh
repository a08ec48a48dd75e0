#!/usr/bin/env bash
# oci.pull_progress: per-layer bars with colour on a TTY (driven through util-linux
# `script`), no colour codes with NO_COLOR, plain lines without a TTY, JSON event lines
# with --json, nothing with -q. Each pull uses a fresh cache so the layer downloads.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../rig/lib.sh"
command -v script >/dev/null || { echo "SKIP: util-linux script not installed"; exit 77; }
REF="$ML_REG_ANON/matchlock/layers:latest"
esc=$'\x1b'
n=0
fresh() { n=$((n + 1)); export XDG_CACHE_HOME="$TEST_TMP/cache$n"; }

# No TTY: plain lines, no escape sequences at all.
fresh
run_ml pull --no-rootfs "$REF"
expect_rc 0
expect_contains "$ERR" ": downloading "
expect_contains "$ERR" ": done, "
expect_contains "$ERR" "$REF: pulled sha256:"
case "$ERR" in *"$esc"*) fail "escape codes without a TTY: $ERR" ;; esac

# A TTY: bars redrawn in place, coloured digests.
tty_pull() {
  fresh
  TERM=xterm script -qfec "$MATCHLOCK pull --no-rootfs $REF" /dev/null >"$TEST_TMP/tty.out" 2>&1 ||
    fail "pull on a TTY failed: $(cat "$TEST_TMP/tty.out")"
}
tty_pull
out=$(cat "$TEST_TMP/tty.out")
expect_contains "$out" "[==============================]"
expect_contains "$out" "${esc}[1A${esc}[2K"     # redraw in place
expect_contains "$out" "${esc}[32m"             # coloured (done) digest
bars=$(grep -ac '\[==============================\]' "$TEST_TMP/tty.out" || true)
[ "$bars" -ge 3 ] || fail "expected a finished bar per layer (3 layers), got $bars: $out"

NO_COLOR=1 tty_pull
out=$(cat "$TEST_TMP/tty.out")
expect_contains "$out" "[==============================]"
if grep -aq "${esc}\[3[0-9]m" "$TEST_TMP/tty.out"; then fail "NO_COLOR set but colour codes were printed: $out"; fi

# --json: one JSON event per line on stdout.
fresh
run_ml pull --json --no-rootfs "$REF"
expect_rc 0
printf '%s\n' "$OUT" | python3 -c '
import json, sys
events = [json.loads(l)["event"] for l in sys.stdin if l.strip()]
for e in ("resolved", "layer_start", "layer_done", "pulled", "done"):
    assert e in events, (e, events)
assert events.count("layer_done") == 3, events  # one per layer
' || fail "unexpected --json events: $OUT"

# -q: silent.
fresh
run_ml -q pull --no-rootfs "$REF"
expect_rc 0
[ -z "$ERR" ] || fail "-q pull printed: $ERR"
echo ok
