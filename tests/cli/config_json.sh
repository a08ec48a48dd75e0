# `matchlock config --json` prints the resolved config (defaults filled in) as JSON;
# without --json a TOML-like text; an invalid file gives FILE:LINE:COL errors and exit 2.
source "$(dirname "$0")/lib.sh"
mkdir -p "$TEST_TMP/my proj"
f="$TEST_TMP/my proj/Matchlockfile"
printf 'version = 1\n[sandbox]\nimage = "alpine:3.20"\n[tasks.a]\nrun = "echo a"\n[tasks.b]\nrun = ["echo", "b"]\nneeds = ["a"]\n' >"$f"
run_ml -f "$f" config --json
expect_rc 0
expect_json "$OUT"
got=$(printf '%s' "$OUT" | python3 -c '
import json, sys
c = json.load(sys.stdin)
s = c["sandbox"]
print(c["name"], s["image_reference"]["canonical"], s["cpus"], s["memory_bytes"], s["disk_bytes"], s["backend"],
      c["mounts"][0]["target"], c["network"]["allow"], c["network"]["block_private"],
      c["tasks"]["a"]["run"], c["tasks"]["b"]["order"])')
want="my-proj docker.io/library/alpine:3.20 2 2147483648 8589934592 auto /workspace [] True ['sh', '-c', 'echo a'] ['a', 'b']"
[ "$got" = "$want" ] || fail "resolved config differs:
 got:  $got
 want: $want"
run_ml -f "$f" config
expect_rc 0
expect_contains "$OUT" 'image = "docker.io/library/alpine:3.20"'
expect_contains "$OUT" 'memory = "2GiB"'
printf 'version = 1\n[sandbox]\nimage = "alpine"\ncpus = -1\n' >"$f"
run_ml -f "$f" config --json
expect_rc 2
expect_contains "$ERR" "$f:4:8: sandbox.cpus must be at least 1"
[ -z "$OUT" ] || fail "no JSON expected for an invalid file, got: $OUT"
