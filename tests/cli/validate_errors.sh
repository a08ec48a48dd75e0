# An invalid file: every error as FILE:LINE:COL: message on stderr, sorted, exit 2.
source "$(dirname "$0")/lib.sh"
f="$TEST_TMP/Matchlockfile"
cat >"$f" <<'TOML'
version = 1
[sandbox]
image = "alpine"
cpus = 0
[[mounts]]
source = "."
target = "relative"
[tasks.a]
run = "x"
needs = ["b"]
[tasks.b]
run = "y"
needs = ["a"]
TOML
run_ml validate -f "$f"
expect_rc 2
expected="$f:4:8: sandbox.cpus must be at least 1
$f:7:10: mounts[0].target \"relative\" must be an absolute path in the guest
$f:10:9: task dependency cycle: a -> b -> a"
[ "$ERR" = "$expected" ] || fail "stderr differs; expected:
$expected
got:
$ERR"
[ -z "$OUT" ] || fail "nothing expected on stdout, got: $OUT"
run_ml validate --json -f "$f"
expect_rc 2
expect_json "$OUT"
n=$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d[0]["errors"]), d[0]["ok"], d[0]["errors"][0]["line"], d[0]["errors"][0]["column"])')
[ "$n" = "3 False 4 8" ] || fail "--json: got $n"
