# validate and config never read secret values: a cmd: source is not run, an env:
# value never appears in the output, a file: source is not opened (a FIFO would block).
source "$(dirname "$0")/lib.sh"
cd "$TEST_TMP"
mkfifo "$TEST_TMP/secret.fifo"
cat >Matchlockfile <<TOML
version = 1
[sandbox]
image = "alpine"
[secrets.CMD_SECRET]
from = "cmd:touch $TEST_TMP/MARKER"
hosts = ["api.example.com"]
[secrets.ENV_SECRET]
from = "env:ML_TEST_SECRET_VALUE"
hosts = ["api.example.com"]
[secrets.FILE_SECRET]
from = "file:secret.fifo"
hosts = ["files.example.com"]
TOML
export ML_TEST_SECRET_VALUE="s3cr3t-value-must-not-leak"
for args in "validate" "config" "config --json"; do
  set +e
  timeout 10 "$MATCHLOCK" $args >"$TEST_TMP/out" 2>"$TEST_TMP/err"
  RC=$?
  set -e
  OUT=$(cat "$TEST_TMP/out"); ERR=$(cat "$TEST_TMP/err")
  [ "$RC" -eq 0 ] || fail "matchlock $args: exit $RC (124 means it blocked reading the FIFO): $ERR"
  [ ! -e "$TEST_TMP/MARKER" ] || fail "matchlock $args ran the cmd: secret source"
  case "$OUT$ERR" in *s3cr3t-value*) fail "matchlock $args printed the env: secret value" ;; esac
done
expect_contains "$OUT" '"from": "env:ML_TEST_SECRET_VALUE"'
expect_contains "$OUT" "\"from\": \"cmd:touch $TEST_TMP/MARKER\""
