# The machine's policy.toml (docs/policy.md): a Matchlockfile that asks for more than the
# user's and the system's policy allow is refused by validate, config, up, up --dry-run and
# run -- before anything is pulled or booted -- with every violation at its own position,
# exit 2; a broken policy refuses everything (fail closed); effects of a passing file are
# shown by config and up --dry-run.
source "$(dirname "$0")/lib.sh"
mkdir -p "$TEST_TMP/proj" "$XDG_CONFIG_HOME/matchlock"
f="$TEST_TMP/proj/Matchlockfile"
cat >"$f" <<'TOML'
version = 1
[sandbox]
image = "alpine"
cpus = 8
[network]
allow = ["paste.evil.com", "*.github.com"]
block_private = false
[secrets.T]
from = "cmd:pass show t"
hosts = ["api.github.com"]
TOML
user_policy="$XDG_CONFIG_HOME/matchlock/policy.toml"
cat >"$user_policy" <<'TOML'
[network]
deny = ["*.evil.com", "gist.github.com"]
allow_block_private_off = false
[secrets]
sources = ["env", "file"]
TOML
system_policy="$TEST_TMP/system-policy.toml"
cat >"$system_policy" <<'TOML'
[sandbox]
max_cpus = 4
TOML
export MATCHLOCK_SYSTEM_POLICY="$system_policy"

expected="$f:4:8: exceeds $system_policy:2: sandbox.cpus 8 is more than max_cpus 4
$f:6:10: exceeds $user_policy:2: network.allow \"paste.evil.com\" is never allowed (network.deny \"*.evil.com\")
$f:7:17: exceeds $user_policy:3: network.block_private = false is not permitted (network.allow_block_private_off = false)
$f:9:8: exceeds $user_policy:5: secrets.T.from uses a cmd: source; secrets.sources permits env, file"

run_ml validate -f "$f"
expect_rc 2
[ "$ERR" = "$expected" ] || fail "validate: stderr differs; expected:
$expected
got:
$ERR"
run_ml validate --json -f "$f"
expect_rc 2
n=$(printf '%s' "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d[0]["errors"]), d[0]["ok"])')
[ "$n" = "4 False" ] || fail "validate --json: got $n: $OUT"

# up and run refuse before anything is pulled (no registry, no image, no kernel here).
for verb in "up" "up --dry-run" "run --trust -- true" "config"; do
  # shellcheck disable=SC2086
  run_ml -f "$f" $verb
  expect_rc 2
  expect_contains "$ERR" "$f:6:10: exceeds $user_policy:2: network.allow \"paste.evil.com\" is never allowed"
  expect_contains "$ERR" "$f:4:8: exceeds $system_policy:2"
done
[ ! -d "$XDG_CACHE_HOME/matchlock/blobs" ] || fail "something was pulled"
[ ! -d "$XDG_STATE_HOME/matchlock/sandboxes" ] || fail "a sandbox was created"
# ps, down and rm of an existing name do not need the policy (it may have changed since).
run_ml -f "$f" down
expect_contains "$ERR" "no sandbox named"

# The file fixed: it passes; the policy's deny joins the sandbox's, overlaps are cut.
sed -i -e 's/cpus = 8/cpus = 2/' -e 's/"paste.evil.com", //' -e '/block_private/d' -e 's/cmd:pass show t/env:T/' "$f"
run_ml validate -f "$f"
expect_rc 0
run_ml -f "$f" config --json
expect_rc 0
printf '%s' "$OUT" | python3 -c '
import json, sys
c = json.load(sys.stdin)
p = c["policy"]
assert len(p["files"]) == 2, p
assert p["deny"] == ["*.evil.com", "gist.github.com"], p
assert p["cut"] == ["network.allow *.github.com: except gist.github.com (%s:2)" % sys.argv[1]], p
' "$user_policy" || fail "config --json policy: $OUT"
run_ml -f "$f" up --dry-run
expect_rc 0
expect_contains "$OUT" "--policy $user_policy"
expect_contains "$OUT" "--deny gist.github.com (policy)"
expect_contains "$OUT" "--policy-cut network.allow *.github.com: except gist.github.com"
run_ml -f "$f" net why gist.github.com
expect_contains "$OUT$ERR" "policy.toml network.deny"

# A broken policy refuses everything, naming its own line.
printf '[network]\ndenny = ["x.com"]\n' >"$user_policy"
run_ml validate -f "$f"
expect_rc 2
expect_contains "$ERR" "$user_policy:2:1: unknown key \"denny\" in [network] (did you mean \"deny\"?)"
run_ml -f "$f" up --dry-run
expect_rc 2
expect_contains "$ERR" "$user_policy:2:1"
echo ok
