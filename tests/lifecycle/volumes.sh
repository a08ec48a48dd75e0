# Named volumes (issue 15 item 5) in a real guest: written in one sandbox, kept across
# down/up and up --recreate (the writable disk is gone each time), shown by `volume ls`,
# refused for `volume rm` while mounted, confined like any mount (a symlink the guest plants
# cannot reach the host outside the volume), and refused to another Matchlockfile that
# takes the same sandbox name.
. "$(dirname "$0")/lib.sh"
write_matchlockfile vol '
[[mounts]]
volume = "cache"
target = "/root/.cache"
'
run_ml up --dry-run
expect_rc 0
expect_contains "$OUT" "--mount volume cache -> /root/.cache (rw) $XDG_STATE_HOME/matchlock/volumes/vol/cache/data"

run_ml up
expect_rc 0
expect_contains "$OUT" "mount    volume cache -> /root/.cache"
run_ml exec -- sh -c 'echo kept-$((6*7)) > /root/.cache/marker; mkdir -p /root/.cache/d; echo scratch > /root/scratch;
  ln -s /etc/hostname /root/.cache/link-in; ln -s ../../../../../etc/passwd /root/.cache/escape; ls -ld /root/.cache | cut -c1-10'
expect_rc 0
data="$XDG_STATE_HOME/matchlock/volumes/vol/cache/data"
[ "$(cat "$data/marker")" = kept-42 ] || fail "the guest's write is not in the volume on the host"
[ "$(stat -c %a "$data")" = 700 ] || fail "volume data dir is not 0700: $(stat -c %a "$data")"

# In use: rm refuses, ls says so.
run_ml volume rm vol/cache
expect_rc 2
expect_contains "$ERR" "in use"
run_ml volume ls --json
printf '%s' "$OUT" | python3 -c '
import json, sys
v = json.load(sys.stdin)
assert len(v) == 1 and v[0]["sandbox"] == "vol" and v[0]["volume"] == "cache" and v[0]["in_use"] and not v[0]["orphaned"], v
' || fail "volume ls --json while up: $OUT"

run_ml down
expect_rc 0
no_qemu_left
run_ml up
expect_rc 0
run_ml exec -- sh -c 'cat /root/.cache/marker; cat /root/scratch 2>/dev/null || echo no-scratch; cat /root/.cache/escape 2>&1 | head -c 40; echo'
expect_rc 0
expect_contains "$OUT" "kept-42"
expect_contains "$OUT" "no-scratch"      # the writable disk did not survive; the volume did
# The host never followed the planted links: they are links in the volume, nothing more.
[ -L "$data/escape" ] && [ -L "$data/link-in" ] || fail "symlinks were not stored as symlinks"

# Recreate after a change: still there.
echo '# changed' >>"$PROJ/Matchlockfile"
run_ml up --recreate
expect_rc 0
run_ml exec -- cat /root/.cache/marker
expect_rc 0
[ "$OUT" = kept-42 ] || fail "after --recreate: $OUT"
run_ml down
expect_rc 0
run_ml rm vol
expect_rc 0
[ -f "$data/marker" ] || fail "rm of the sandbox removed its volume"

# Another Matchlockfile claiming the same sandbox name does not get the data.
mkdir -p "$TEST_TMP/other"
cp "$PROJ/Matchlockfile" "$TEST_TMP/other/Matchlockfile"
capture_ml -f "$TEST_TMP/other/Matchlockfile" run --trust -- true
expect_rc 2
expect_contains "$ERR" "volume vol/cache belongs to $PROJ/Matchlockfile"

run_ml volume rm vol/cache
expect_rc 0
[ ! -e "$XDG_STATE_HOME/matchlock/volumes/vol/cache" ] || fail "volume rm left it"
no_qemu_left
echo ok
