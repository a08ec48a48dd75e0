# `matchlock volume ls|rm` and gc accounting without a VM: volumes as the engine leaves
# them on disk (<state>/volumes/SANDBOX/VOLUME/{data,volume.json}); an orphan (its
# Matchlockfile no longer mounts it) is removed by `gc --volumes` only; `rm` refuses
# names that are no volume. The VM side (write, down, up, read back) is
# tests/lifecycle/volumes.sh.
source "$(dirname "$0")/lib.sh"
run_ml volume ls
expect_rc 0
expect_contains "$OUT" "VOLUME"
mkdir -p "$TEST_TMP/proj"
f="$TEST_TMP/proj/Matchlockfile"
cat >"$f" <<'TOML'
version = 1
name = "app"
[sandbox]
image = "alpine"
[[mounts]]
volume = "cache"
target = "/cache"
TOML
root="$XDG_STATE_HOME/matchlock/volumes/app"
for v in cache old; do
  mkdir -p "$root/$v/data/sub"
  head -c 200000 /dev/urandom >"$root/$v/data/sub/blob"
  printf '{"sandbox":"app","volume":"%s","file":"%s","created":1700000000}\n' "$v" "$f" >"$root/$v/volume.json"
done
chmod 000 "$root/old/data/sub"  # what a guest can do to its own volume: rm still works

run_ml volume ls --json
expect_rc 0
printf '%s' "$OUT" | python3 -c '
import json, sys
v = {x["volume"]: x for x in json.load(sys.stdin)}
assert set(v) == {"cache", "old"}, v
assert not v["cache"]["orphaned"] and v["old"]["orphaned"], v
assert v["cache"]["bytes"] >= 200000, v
assert not v["cache"]["in_use"], v
' || fail "volume ls --json: $OUT"
run_ml volume ls
expect_contains "$OUT" "app/old"
expect_contains "$OUT" "orphan"

run_ml gc --dry-run --json
expect_rc 0
printf '%s' "$OUT" | python3 -c '
import json, sys
g = json.load(sys.stdin)["volumes"]
assert g == {"removed": 0, "kept": 2, "kept_bytes": g["kept_bytes"]} and g["kept_bytes"] >= 400000, g
' || fail "gc --json volumes: $OUT"
run_ml gc --volumes
expect_rc 0
expect_contains "$OUT" "removed 1 orphaned volumes"
expect_contains "$OUT" "kept 1 volumes"
[ ! -e "$root/old" ] || fail "gc --volumes left the orphan"
[ -e "$root/cache/data/sub/blob" ] || fail "gc --volumes removed a volume in use by its Matchlockfile"

run_ml volume rm app/nope
expect_rc 2
expect_contains "$ERR" "no volume app/nope"
run_ml volume rm "../etc"
expect_rc 2
run_ml volume rm -f "$f" cache        # a bare name: the Matchlockfile's sandbox
expect_rc 0
expect_contains "$OUT" "app/cache removed"
[ ! -e "$root/cache" ] || fail "volume rm left the directory"
echo ok
