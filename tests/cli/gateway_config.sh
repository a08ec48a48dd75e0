# gateway.config: what `matchlock gateway` refuses to start with, each error naming the file,
# key or secret at fault and never a value (docs/gateway.md); and `matchlock run`/`up` refusing a
# k8s: secret, naming the Matchlockfile's line.
. "$(dirname "$0")/lib.sh"
REAL="real-$(openssl rand -hex 16)"
PH="MATCHLOCK_SECRET_$(openssl rand -hex 16)"
mkdir -p "$TEST_TMP/proj" "$TEST_TMP/root/api" "$TEST_TMP/outside"
printf '%s\n' "$REAL" >"$TEST_TMP/outside/token"
printf '%s\n' "$REAL" >"$TEST_TMP/root/api/token"
cat >"$TEST_TMP/proj/Matchlockfile" <<TOML
version = 1
[sandbox]
image = "alpine"
[secrets.TOKEN]
from = "k8s:api/token"
hosts = ["api.example.com"]
TOML
ML=("$TEST_TMP/proj/Matchlockfile")
run_ml gateway init-ca "$TEST_TMP/ca"
expect_rc 0
gw() { run_ml -f "${ML[0]}" gateway --listen 127.0.0.1:0 --health 127.0.0.1:0 "$@"; }
no_value() { case "$OUT$ERR" in *"$REAL"*) fail "the value was printed: $ERR" ;; esac; }

# --placeholders: required with secrets, JSON object, every secret, the placeholder format.
gw --ca-dir "$TEST_TMP/ca" --secrets-root "$TEST_TMP/root"
[ "$RC" -ne 0 ] || fail "started without --placeholders"
expect_contains "$ERR" "--placeholders FILE is required"
echo '{"OTHER": "'"$PH"'"}' >"$TEST_TMP/ph.json"
gw --ca-dir "$TEST_TMP/ca" --secrets-root "$TEST_TMP/root" --placeholders "$TEST_TMP/ph.json"
expect_contains "$ERR" "$TEST_TMP/ph.json: no placeholder for \"TOKEN\""
echo '{"TOKEN": "MATCHLOCK_SECRET_xyz"}' >"$TEST_TMP/ph.json"
gw --ca-dir "$TEST_TMP/ca" --secrets-root "$TEST_TMP/root" --placeholders "$TEST_TMP/ph.json"
expect_contains "$ERR" "$TEST_TMP/ph.json: \"TOKEN\": not a placeholder"
echo '[1]' >"$TEST_TMP/ph.json"
gw --ca-dir "$TEST_TMP/ca" --secrets-root "$TEST_TMP/root" --placeholders "$TEST_TMP/ph.json"
expect_contains "$ERR" "$TEST_TMP/ph.json: must be a JSON object"
echo '{"TOKEN": "'"$PH"'", "EXTRA": "MATCHLOCK_SECRET_'"$(openssl rand -hex 16)"'"}' >"$TEST_TMP/ph.json"
gw --ca-dir "$TEST_TMP/ca" --secrets-root "$TEST_TMP/root" --placeholders "$TEST_TMP/ph.json"
expect_contains "$ERR" "\"EXTRA\" is no secret of"
echo '{"TOKEN": "'"$PH"'"}' >"$TEST_TMP/ph.json"

# The CA.
gw --secrets-root "$TEST_TMP/root" --placeholders "$TEST_TMP/ph.json"
expect_contains "$ERR" "--ca-dir DIR"
gw --ca-dir "$TEST_TMP/nowhere" --secrets-root "$TEST_TMP/root" --placeholders "$TEST_TMP/ph.json"
expect_contains "$ERR" "gateway CA"

# The Secret volume: missing, a symlink leading out of the root, a bad --secret.
gw --ca-dir "$TEST_TMP/ca" --secrets-root "$TEST_TMP/empty" --placeholders "$TEST_TMP/ph.json"
expect_contains "$ERR" "secret TOKEN (k8s:api/token): secrets root"
rm "$TEST_TMP/root/api/token"
ln -s ../../outside/token "$TEST_TMP/root/api/token"
gw --ca-dir "$TEST_TMP/ca" --secrets-root "$TEST_TMP/root" --placeholders "$TEST_TMP/ph.json"
expect_contains "$ERR" "leads outside"
no_value
gw --ca-dir "$TEST_TMP/ca" --secrets-root "$TEST_TMP/root" --placeholders "$TEST_TMP/ph.json" --secret "TOKEN=api/../x"
expect_contains "$ERR" "--secret TOKEN: \"api/../x\": SECRET/KEY has exactly one '/'"
gw --ca-dir "$TEST_TMP/ca" --secrets-root "$TEST_TMP/root" --placeholders "$TEST_TMP/ph.json" --secret "NOPE=api/token"
expect_contains "$ERR" "--secret NOPE: ${ML[0]} has no [secrets.NOPE]"

# cmd: is never run by the gateway.
cat >"${ML[0]}" <<TOML
version = 1
[sandbox]
image = "alpine"
[secrets.TOKEN]
from = "cmd:touch $TEST_TMP/ran"
hosts = ["api.example.com"]
TOML
gw --ca-dir "$TEST_TMP/ca" --placeholders "$TEST_TMP/ph.json"
expect_contains "$ERR" "cmd: is not run by the gateway; map it to a Kubernetes Secret with --secret TOKEN=SECRET/KEY"
[ ! -e "$TEST_TMP/ran" ] || fail "the gateway ran a cmd: source"

# --network-ca stands for [network].ca, whose path is its author's (render puts the PEM in the
# gateway's ConfigMap): without it that path must exist; with it the gateway serves; with no
# [network].ca to stand for it is refused.
cat >"${ML[0]}" <<TOML
version = 1
[sandbox]
image = "alpine"
[network]
allow = ["example.com"]
ca = "corp/ca.pem"
TOML
gw --ca-dir "$TEST_TMP/ca"
[ "$RC" -ne 0 ] || fail "started without the [network].ca file"
expect_contains "$ERR" "corp/ca.pem"
rc=0
timeout 3 "$MATCHLOCK" -f "${ML[0]}" gateway --listen 127.0.0.1:0 --health 127.0.0.1:0 --ca-dir "$TEST_TMP/ca" \
  --network-ca "$TEST_TMP/ca/tls.crt" >/dev/null 2>"$TEST_TMP/nca.err" || rc=$?
[ "$rc" -eq 124 ] || fail "gateway --network-ca did not serve (exit $rc): $(cat "$TEST_TMP/nca.err")"
sed -i '/^ca = /d' "${ML[0]}"
gw --ca-dir "$TEST_TMP/ca" --network-ca "$TEST_TMP/ca/tls.crt"
expect_contains "$ERR" "--network-ca $TEST_TMP/ca/tls.crt: ${ML[0]} has no [network].ca"

# Locally a k8s: secret is refused, naming the file and line.
cat >"${ML[0]}" <<TOML
version = 1
[sandbox]
image = "alpine"

[secrets.TOKEN]
from = "k8s:api/token"
hosts = ["api.example.com"]
TOML
run_ml -f "${ML[0]}" validate
expect_rc 0
run_ml -f "${ML[0]}" run -- true
[ "$RC" -ne 0 ] || fail "run accepted a k8s: secret"
expect_contains "$ERR" "${ML[0]}:5: secrets.TOKEN.from \"k8s:api/token\": k8s: secrets exist only in a cluster gateway (matchlock gateway"
echo PASS
