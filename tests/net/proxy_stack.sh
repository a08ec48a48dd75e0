# The guest's view through the real stack: a command in a private netns whose NIC is
# driven by net::Stack, DNS from the policy, every TCP flow through net::Proxy.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
RIG="${MATCHLOCK_BINARY_DIR:?}/tests/proxy_rig"
[ -x "$RIG" ] || fail "proxy_rig not built at $RIG"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for a network namespace and TAP"; exit 77; }
SECRET_VALUE="sk-live-$(openssl rand -hex 12)"
export SECRET_VALUE
make_test_ca "$TEST_TMP" api.test
start_upstream TLS tls
start_upstream HTTP
AUDIT="$TEST_TMP/state/audit.jsonl"
set +e
"$RIG" --ca-out "$TEST_TMP/sandbox-ca.pem" --audit "$AUDIT" --extra-ca "$TEST_TMP/ca.pem" \
  --allow plain.test --secret API_KEY=SECRET_VALUE@api.test \
  --upstream "api.test:443=127.0.0.1:$UP_TLS_PORT" --upstream "plain.test:80=127.0.0.1:$UP_HTTP_PORT" -- sh -c '
  set -e
  case "$API_KEY" in MATCHLOCK_SECRET_*) ;; *) echo "guest sees API_KEY=$API_KEY"; exit 1 ;; esac
  [ -z "${SECRET_VALUE:-}" ] || { echo "the real value reached the guest environment"; exit 1; }
  curl -sS --max-time 10 --cacert '"$TEST_TMP"'/sandbox-ca.pem -H "X-Api-Key: $API_KEY" https://api.test/inside
  curl -sS --max-time 10 http://plain.test/plain
  if getent hosts denied.test; then echo "denied.test resolved"; exit 1; fi
  code=$(curl -sS --max-time 10 -o body -w "%{http_code}" -H "Host: denied.test" http://203.0.113.9/)
  [ "$code" = 403 ] || { echo "raw IP: HTTP $code"; exit 1; }
  grep -q "add \"denied.test\" to \[network\].allow" body || { cat body; exit 1; }
  if curl -sS --max-time 10 -k https://203.0.113.9/ 2>err; then echo "raw-IP TLS connected"; exit 1; fi
  grep -q "alert access denied" err || { cat err; exit 1; }
' >"$TEST_TMP/out" 2>&1
RC=$?
set -e
[ "$RC" = 77 ] && { cat "$TEST_TMP/out"; exit 77; }
[ "$RC" = 0 ] || fail "guest checks (exit $RC): $(cat "$TEST_TMP/out")"
grep -q "ok GET" "$TEST_TMP/out" || fail "no upstream answers: $(cat "$TEST_TMP/out")"
python3 - "$TEST_TMP/TLS.log" <<'PY' || fail "upstream did not get the real value: $(cat "$TEST_TMP/TLS.log")"
import json, os, sys
e = [json.loads(l) for l in open(sys.argv[1])][-1]
assert e["path"] == "/inside" and e["headers"]["X-Api-Key"] == os.environ["SECRET_VALUE"], e
PY
grep -q '"kind":"dns".*"name":"denied.test".*"decision":"deny"' "$AUDIT" || fail "no DNS denial audited: $(cat "$AUDIT")"
grep -q '"secrets":\["API_KEY"\]' "$AUDIT" || fail "no injection audited"
if grep -q "$SECRET_VALUE" "$AUDIT" "$TEST_TMP/out"; then fail "secret value leaked"; fi
echo PASS
