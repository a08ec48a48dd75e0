# Shared helpers for black-box CLI tests. Each test runs against $MATCHLOCK
# with private XDG dirs and reports failures with the command's output.
set -euo pipefail
: "${MATCHLOCK:?MATCHLOCK must point at the built binary}"
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ml-cli.XXXXXX")
trap 'rm -rf "$TEST_TMP"' EXIT
export XDG_CACHE_HOME="$TEST_TMP/cache" XDG_STATE_HOME="$TEST_TMP/state" XDG_CONFIG_HOME="$TEST_TMP/config"

. "$(dirname "${BASH_SOURCE[0]}")/../lib/report.sh"

# run_ml ARGS...: runs matchlock, storing stdout in $OUT, stderr in $ERR, code in $RC.
# (capture_ml is the same; a suite that redefines run_ml calls it.)
run_ml() { capture_ml "$@"; }
capture_ml() {
  set +e
  "$MATCHLOCK" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err"
  RC=$?
  set -e
  OUT=$(cat "$TEST_TMP/out")
  ERR=$(cat "$TEST_TMP/err")
}

expect_rc() {
  [ "$RC" -eq "$1" ] || fail "expected exit $1, got $RC; stdout: $OUT; stderr: $ERR"
}

expect_contains() {  # expect_contains HAYSTACK NEEDLE
  case "$1" in *"$2"*) ;; *) fail "expected output to contain '$2'; got: $1" ;; esac
}

expect_json() {  # the text parses as JSON
  printf '%s' "$1" | python3 -c 'import json,sys; json.load(sys.stdin)' || fail "not JSON: $1"
}
