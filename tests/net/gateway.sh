# gateway.policy: `matchlock gateway` for real (docs/gateway.md). The world is the security
# suite's (tests/security/lib.sh: a private netns whose hosts sit on TEST-NET addresses with
# HTTP and HTTPS servers, a test CA); the gateway runs in it on a veth address; a second netns
# plays the sandbox pod: its only link is the veth to the gateway (no route to the world), and
# curl there goes through HTTP_PROXY/HTTPS_PROXY. The same assertions as the in-VM network
# tests: allowed and denied hosts, TLS passthrough (the upstream's own certificate), MITM
# injection toward the bound host only, placeholders refused elsewhere and over plain HTTP,
# fronting, IP literals and private addresses, the audit lines on stdout, health endpoints,
# and no real secret value in anything the gateway prints.
. "$(dirname "$0")/gateway_prelude.sh"
TOKEN_REAL="tok-$(openssl rand -hex 16)"
OTHER_REAL="oth-$(openssl rand -hex 16)"
MAPPED_REAL="map-$(openssl rand -hex 16)"
gw_secret_volume gw-secrets token "$TOKEN_REAL"
gw_secret_volume gw-secrets mapped "$MAPPED_REAL"
export ML_GW_OTHER="$OTHER_REAL"
PH_TOKEN="MATCHLOCK_SECRET_$(openssl rand -hex 16)"
PH_OTHER="MATCHLOCK_SECRET_$(openssl rand -hex 16)"
PH_MAPPED="MATCHLOCK_SECRET_$(openssl rand -hex 16)"
printf '{"TOKEN": "%s", "OTHER": "%s", "MAPPED": "%s"}\n' "$PH_TOKEN" "$PH_OTHER" "$PH_MAPPED" >"$TEST_TMP/placeholders.json"
mkdir -p "$TEST_TMP/proj"
cat >"$TEST_TMP/proj/Matchlockfile" <<TOML
version = 1
name = "gw"
[sandbox]
image = "alpine"

[network]
allow = ["allowed.test", "*.allowed.test", "other.test", "private.test"]
deny = ["deny.allowed.test"]
ca = "$TEST_TMP/ca.pem"

[secrets.TOKEN]
from = "k8s:gw-secrets/token"
hosts = ["secret.test"]

[secrets.OTHER]
from = "env:ML_GW_OTHER"
hosts = ["other.test"]

[secrets.MAPPED]
from = "cmd:echo never-run"
hosts = ["secret.test"]
TOML

# The CA: made once, never overwritten, the key 0600.
run_ml gateway init-ca "$TEST_TMP/gwca"
expect_rc 0
expect_contains "$OUT" "$TEST_TMP/gwca/tls.crt"
[ "$(stat -c %a "$TEST_TMP/gwca/tls.key")" = 600 ] || fail "tls.key mode $(stat -c %a "$TEST_TMP/gwca/tls.key")"
openssl x509 -in "$TEST_TMP/gwca/tls.crt" -noout -text | grep -q "CA:TRUE" || fail "tls.crt is not a CA"
KEY_SUM=$(sha256sum <"$TEST_TMP/gwca/tls.key")
run_ml gateway init-ca "$TEST_TMP/gwca"
[ "$RC" -ne 0 ] || fail "init-ca overwrote an existing CA"
expect_contains "$ERR" "exists: not overwritten"
[ "$(sha256sum <"$TEST_TMP/gwca/tls.key")" = "$KEY_SUM" ] || fail "init-ca changed tls.key"

gw_start -f "$TEST_TMP/proj/Matchlockfile" --placeholders "$TEST_TMP/placeholders.json" --ca-dir "$TEST_TMP/gwca" \
  --secrets-root "$TEST_TMP/secrets" --secret MAPPED=gw-secrets/mapped

# The pod reaches nothing but the gateway.
pod curl -sS --max-time 3 -o /dev/null "http://${SEC_ADDR[allowed.test]}/" 2>/dev/null && fail "the pod reached the world directly"

# Health.
[ "$(pod_code "http://$GW_ADDR:8080/healthz")" = 200 ] || fail "/healthz"
[ "$(pod_code "http://$GW_ADDR:8080/readyz")" = 200 ] || fail "/readyz"
[ "$(pod_code "http://$GW_ADDR:8080/other")" = 404 ] || fail "/other"

# Plain HTTP through the proxy.
[ "$(pcurl http://allowed.test/plain)" = 200 ] || fail "allowed plain HTTP: $(cat "$TEST_TMP/body")"
grep -q '"path": "/plain"' "$TEST_TMP/allowed.test.http.log" || fail "allowed.test did not see /plain in origin-form"
[ "$(pcurl http://evil.test/denied)" = 403 ] || fail "denied plain HTTP"
expect_contains "$(cat "$TEST_TMP/body")" "evil.test"
[ "$(pcurl http://deny.allowed.test/)" = 403 ] || fail "deny rule"
[ "$(pcurl -H "X-T: $PH_TOKEN" http://secret.test/ph-plain)" = 403 ] || fail "placeholder over plain HTTP to its host"
[ "$(pcurl -H "X-T: $PH_TOKEN" http://allowed.test/ph-plain)" = 403 ] || fail "placeholder over plain HTTP elsewhere"
[ "$(pcurl -H "Host: evil.test" http://allowed.test/front)" = 400 ] || fail "absolute-form authority != Host"

# TLS passthrough: trusted with the test CA alone, so the client saw allowed.test's own certificate.
[ "$(pcurl --cacert "$TEST_TMP/ca.pem" https://allowed.test/pass)" = 200 ] || fail "TLS passthrough"
[ "$(pcurl --cacert "$TEST_TMP/gwca/tls.crt" https://allowed.test/pass2)" = 000 ] || fail "passthrough was intercepted"
[ "$(pcurl -w '%{http_connect}' --cacert "$TEST_TMP/ca.pem" https://evil.test/)" = 403 ] || fail "CONNECT to a denied host"

# MITM toward the bound host: trusted with the gateway CA alone, the real values arrive.
[ "$(pcurl --cacert "$TEST_TMP/gwca/tls.crt" -H "Authorization: Bearer $PH_TOKEN" -H "X-M: $PH_MAPPED" \
  https://secret.test/inject)" = 200 ] || fail "MITM injection: $(cat "$TEST_TMP/body")"
[ "$(pcurl --cacert "$TEST_TMP/ca.pem" https://secret.test/)" = 000 ] || fail "secret.test was not intercepted"
python3 - "$TEST_TMP/secret.test.https.log" "$TOKEN_REAL" "$MAPPED_REAL" <<'PY' || fail "secret.test's requests: $(cat "$TEST_TMP/secret.test.https.log")"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '"/inject"' in l][0]
assert r["headers"]["Authorization"] == "Bearer " + sys.argv[2], r
assert r["headers"]["X-M"] == sys.argv[3], r
PY
# ... and nowhere else: another allowed (intercepted) host, another Host inside the MITM, a denied Host.
[ "$(pcurl --cacert "$TEST_TMP/gwca/tls.crt" -H "Authorization: Bearer $PH_TOKEN" https://other.test/unbound)" = 403 ] ||
  fail "TOKEN's placeholder toward other.test"
[ "$(pcurl --cacert "$TEST_TMP/gwca/tls.crt" -H "Host: other.test" -H "X-T: $PH_TOKEN" https://secret.test/host)" = 403 ] ||
  fail "TOKEN's placeholder with Host: other.test on secret.test's connection"
[ "$(pcurl --cacert "$TEST_TMP/gwca/tls.crt" -H "Host: evil.test" https://secret.test/front)" = 403 ] ||
  fail "Host: evil.test inside the MITM"
[ "$(pcurl --cacert "$TEST_TMP/gwca/tls.crt" -H "Authorization: Bearer $PH_OTHER" https://other.test/other-ok)" = 200 ] ||
  fail "OTHER's placeholder toward its own host (env: source)"
grep -q "Bearer $OTHER_REAL" "$TEST_TMP/other.test.https.log" || fail "other.test did not get OTHER's value"
if grep -rq -e "$TOKEN_REAL" -e "$MAPPED_REAL" "$TEST_TMP"/allowed.test.*.log "$TEST_TMP"/other.test.*.log "$TEST_TMP"/evil.test.*.log; then
  fail "a secret value reached a host it is not bound to"
fi

# Fronting by SNI: CONNECT allowed.test, ClientHello for evil.test (denied) or other.test (allowed).
[ "$(pod python3 "$GW_CLIENT" "$GW_ADDR" 3128 sni allowed.test evil.test)" = alert ] || fail "SNI evil.test on CONNECT allowed.test"
[ "$(pod python3 "$GW_CLIENT" "$GW_ADDR" 3128 sni allowed.test other.test)" = alert ] || fail "SNI other.test on CONNECT allowed.test"
[ "$(pod python3 "$GW_CLIENT" "$GW_ADDR" 3128 sni allowed.test allowed.test "$TEST_TMP/ca.pem")" = "ok 200" ] ||
  fail "SNI equal to the CONNECT host"

# IP literals, private and metadata addresses, names resolving to private addresses.
[ "$(pcurl "http://${SEC_ADDR[allowed.test]}/ip")" = 403 ] || fail "HTTP to an IP literal"
[ "$(pod python3 "$GW_CLIENT" "$GW_ADDR" 3128 connect "${SEC_ADDR[allowed.test]}:443")" = 403 ] || fail "CONNECT to an IP literal"
[ "$(pcurl http://169.254.169.254/latest/meta-data/)" = 403 ] || fail "metadata address"
[ "$(pod python3 "$GW_CLIENT" "$GW_ADDR" 3128 connect 127.0.0.1:8080)" = 403 ] || fail "CONNECT to loopback"
[ "$(pod python3 "$GW_CLIENT" "$GW_ADDR" 3128 connect "$GW_ADDR:8080")" = 403 ] || fail "CONNECT to the gateway itself"
[ "$(pcurl http://private.test/)" = 502 ] || fail "an allowed name resolving to 127.0.0.1: $(cat "$TEST_TMP/body")"
expect_contains "$(cat "$TEST_TMP/body")" "private"
[ "$(pcurl http://localhost:8080/)" = 403 ] || fail "localhost"

# Not a proxy request.
[ "$(pod python3 "$GW_CLIENT" "$GW_ADDR" 3128 origin)" = 400 ] || fail "origin-form"
[ "$(pod python3 "$GW_CLIENT" "$GW_ADDR" 3128 connect allowed.test)" = 400 ] || fail "CONNECT without a port"
[ "$(pod python3 "$GW_CLIENT" "$GW_ADDR" 3128 malformed)" = 400 ] || fail "malformed head"
[ "$(pod python3 "$GW_CLIENT" "$GW_ADDR" 3128 oversize)" = 431 ] || fail "oversize head"

# Throughput (printed, checked for size only): 64 MiB through a passthrough tunnel and through the MITM.
for how in "pass --cacert $TEST_TMP/ca.pem https://allowed.test" "mitm --cacert $TEST_TMP/gwca/tls.crt https://secret.test" \
           "plain http://allowed.test"; do
  set -- $how
  name=$1; shift; url=${!#}; set -- "${@:1:$#-1}"
  out=$(pod curl -sS --max-time 120 -o /dev/null -w '%{size_download} %{speed_download}' --proxy "http://$GW_ADDR:3128" \
    "$@" "$url/big?n=67108864" 2>&1 || true)
  [ "${out%% *}" = 67108864 ] || fail "64 MiB through the gateway ($name): $out"
  echo "throughput $name: $(( ${out##* } / 1048576 )) MiB/s"
done

# The audit log: JSON lines on stdout, in the sandbox's record format.
sleep 0.5
python3 - "$TEST_TMP/gw.out" <<'PY' || fail "audit: $(cat "$TEST_TMP/gw.out")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
def find(**kw):
    return [r for r in recs if all(r.get(k) == v for k, v in kw.items())]
assert find(kind="http", name="evil.test", path="/denied", decision="deny"), "evil.test refusal (the path alone)"
assert find(kind="http", name="allowed.test", path="/front", decision="deny"), "Host mismatch (the path alone)"
assert not [r for r in recs if "://" in r.get("path", "")], "a URL in a path"
assert find(kind="http", name="evil.test", method="CONNECT", decision="deny"), "CONNECT evil.test refusal"
assert find(kind="http", name="allowed.test", path="/plain", decision="allow", status=200), "allowed plain"
assert [r for r in find(kind="tls", name="allowed.test", decision="allow") if not r.get("intercepted")], "passthrough"
inj = find(kind="http", name="secret.test", path="/inject", decision="allow")
assert inj and sorted(inj[0]["secrets"]) == ["MAPPED", "TOKEN"], inj
assert find(kind="tls", name="evil.test", decision="deny"), "SNI fronting"
assert find(kind="http", name="other.test", path="/unbound", decision="deny"), "placeholder elsewhere"
PY

# No real value in anything the gateway printed.
for v in "$TOKEN_REAL" "$OTHER_REAL" "$MAPPED_REAL"; do
  grep -q -e "$v" "$TEST_TMP/gw.out" "$TEST_TMP/gw.err" && fail "a secret value in the gateway's output"
done
gw_stop_expect_clean
echo "PASS"
