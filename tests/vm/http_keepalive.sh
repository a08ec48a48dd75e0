# vm.http_keepalive: HTTP/1.1 connection reuse through the proxy, from inside a booted
# Debian guest (issue 12 §2), against real keep-alive upstreams in the TEST-NET world of
# tests/security/lib.sh: plain HTTP (allowed.test) and an intercepted host with a secret
# injected into every request (secret.test). On one connection: several small requests,
# bodies of >= 300 KB each way, chunked responses, HEAD, 204 and 304 without bodies,
# Expect: 100-continue; pipelined requests (perl raw on plain HTTP, openssl s_client on
# the intercepted host). Then busybox wget's own TLS (no signature_algorithms) against
# the intercepting proxy. Everything must answer promptly: a hang is a failure.
. "$(dirname "$0")/../security/prelude.sh"

REAL="real-$(openssl rand -hex 16)"
export ML_KA_TOKEN="$REAL"
cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "keepalive"
[sandbox]
image = "oci-layout:$ML_IMG_DEBIAN:latest"
cpus = 1
memory = "512MiB"
disk = "256MiB"
workdir = "/root"

[network]
allow = ["allowed.test"]
ca = "$TEST_TMP/ca.pem"

[secrets.TOKEN]
from = "env:ML_KA_TOKEN"
hosts = ["secret.test"]
TOML

read -r -d '' GUEST <<'EOS' || true
set +e
head -c 400000 /dev/urandom >/tmp/up.bin
# seq NAME SCHEME HOST [curl args]: three URLs on one connection, then large bodies, chunked,
# HEAD, 204/304, 100-continue, all on one connection (curl -v says when it reuses).
seq() {
  local name=$1 base=$2; shift 2
  local t0=$(date +%s%N)
  timeout 60 curl -sS -v --max-time 20 "$@" \
    -o /dev/null -w '%{http_code}:%{size_download}:%{num_connects}\n' "$base/a" \
    -o /dev/null -w '%{http_code}:%{size_download}:%{num_connects}\n' "$base/b" \
    -o /dev/null -w '%{http_code}:%{size_download}:%{num_connects}\n' "$base/c" \
    -o /dev/null -w '%{http_code}:%{size_download}:%{num_connects}\n' "$base/big?n=300000" \
    -o /dev/null -w '%{http_code}:%{size_download}:%{num_connects}\n' "$base/big?n=400000" \
    -o /dev/null -w '%{http_code}:%{size_download}:%{num_connects}\n' "$base/chunked" \
    -o /dev/null -w '%{http_code}:%{size_download}:%{num_connects}\n' "$base/status/204" \
    -o /dev/null -w '%{http_code}:%{size_download}:%{num_connects}\n' "$base/status/304" \
    -o /dev/null -w '%{http_code}:%{size_download}:%{num_connects}\n' "$base/after" \
    2>/tmp/$name.err >/tmp/$name.codes
  echo "${name}_rc=$?"
  echo "${name}_codes=$(tr '\n' ' ' </tmp/$name.codes)"
  echo "${name}_reused=$(grep -c 'Re-using existing connection' /tmp/$name.err)"
  echo "${name}_ms=$(( ($(date +%s%N) - t0) / 1000000 ))"
  echo "${name}_head=$(timeout 30 curl -sS -I --max-time 20 "$@" "$base/h1" "$base/h2" "$base/big?n=300000" 2>/dev/null | grep -c '^HTTP/1.1 200')"
  echo "${name}_upload=$(timeout 60 curl -sS --max-time 30 "$@" -H 'Expect: 100-continue' --data-binary @/tmp/up.bin \
    -o /dev/null -w '%{http_code} ' "$base/up1" -o /dev/null --data-binary @/tmp/up.bin "$base/up2" | xargs)"
}
seq plain http://allowed.test
seq mitm https://secret.test -H "Authorization: Bearer $TOKEN"

# Pipelined: five requests written at once, before any response.
REQS='GET /p1 HTTP/1.1\r\nHost: allowed.test\r\n\r\nHEAD /p2 HTTP/1.1\r\nHost: allowed.test\r\n\r\nGET /status/204 HTTP/1.1\r\nHost: allowed.test\r\n\r\nGET /chunked HTTP/1.1\r\nHost: allowed.test\r\n\r\nGET /big?n=300000 HTTP/1.1\r\nHost: allowed.test\r\n\r\nPOST /p6 HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: 5\r\n\r\nhello'
perl -MIO::Socket::INET -MIO::Select -e '
  my $s = IO::Socket::INET->new(PeerAddr => "allowed.test", PeerPort => 80, Timeout => 10)
    or do { print "pipelined_plain=connect-failed:$@\n"; exit 0 };
  my $r = $ARGV[0]; $r =~ s/\\r/\r/g; $r =~ s/\\n/\n/g; print $s $r;
  my $all = ""; my $sel = IO::Select->new($s); my $deadline = time + 20;
  while (time < $deadline && $sel->can_read($deadline - time)) {
    my $n = sysread($s, my $c, 65536); last unless $n; $all .= $c;
    my @n = ($all =~ /HTTP\/1\.1 \d{3} /g);
    last if @n >= 6 && $all =~ /ok POST/;
  }
  my @codes = ($all =~ /HTTP\/1\.1 (\d{3}) /g);
  print "pipelined_plain=", join(",", @codes), "\n";' "$REQS"
MREQS=$(printf "$REQS" | sed "s/Host: allowed.test/Host: secret.test\r\nAuthorization: Bearer $TOKEN/")
( printf '%s' "$MREQS"; sleep 8 ) | timeout 20 openssl s_client -quiet -connect secret.test:443 -servername secret.test \
  >/tmp/mp.out 2>/dev/null
echo "pipelined_mitm=$(grep -ao 'HTTP/1.1 [0-9]*' /tmp/mp.out | cut -d' ' -f2 | tr '\n' ',' | sed 's/,$//')"
EOS
run_ml run -- bash -c "$GUEST"
expect_rc 0
for s in plain mitm; do
  sec_result ${s}_rc 0
  codes=$(printf '%s\n' "$OUT" | sed -n "s/^${s}_codes=//p")
  python3 - "$codes" <<'PY' || fail "$s: $codes (stdout: $OUT)"
import sys
got = sys.argv[1].split()
want = [("200", None), ("200", None), ("200", None), ("200", "300000"), ("200", "400000"), ("200", "16"),
        ("204", "0"), ("304", "0"), ("200", None)]
assert len(got) == len(want), got
for i, (g, (status, size)) in enumerate(zip(got, want)):
    st, sz, conns = g.split(":")
    assert st == status and (size is None or sz == size), (i, g)
    assert conns == ("1" if i == 0 else "0"), ("new connection for request", i, g)
PY
  sec_result ${s}_reused 8
  sec_result ${s}_head 3
  sec_result ${s}_upload "200 200"
  echo "$s: 9 requests on one connection in $(printf '%s\n' "$OUT" | sed -n "s/^${s}_ms=//p") ms"
done
sec_result pipelined_plain "200,200,204,200,200,200"
sec_result pipelined_mitm "200,200,204,200,200,200"
# The intercepted host got the real value in every request, and every body byte.
python3 - "$TEST_TMP/secret.test.https.log" "$REAL" <<'PY' || fail "secret.test log: $(cat "$TEST_TMP/secret.test.https.log")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert len(reqs) >= 9 + 3 + 2 + 6, len(reqs)
for r in reqs:
    assert r["headers"].get("Authorization") == "Bearer " + sys.argv[2], r["path"]
ups = [r for r in reqs if r["path"] in ("/up1", "/up2")]
assert len(ups) == 2 and all(len(r["body"]) > 0 for r in ups), ups
PY
grep -q '"path": "/p6"' "$TEST_TMP/allowed.test.http.log" || fail "the last pipelined request never reached the upstream"

# busybox wget's built-in TLS sends no signature_algorithms: the intercepting side takes it.
cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "keepalive-bb"
[sandbox]
image = "oci-layout:$ML_IMG_DIR/busybox:latest"
cpus = 1
memory = "256MiB"
disk = "256MiB"
[network]
ca = "$TEST_TMP/ca.pem"
[secrets.TOKEN]
from = "env:ML_KA_TOKEN"
hosts = ["secret.test"]
TOML
run_ml run -- sh -c 'wget -q -O - --header "Authorization: Bearer $TOKEN" https://secret.test/busybox; echo "wget_rc=$?"'
expect_rc 0
sec_result wget_rc 0
expect_contains "$OUT" "ok GET 8"
tail -1 "$TEST_TMP/secret.test.https.log" | grep -q "Bearer $REAL" || fail "busybox request without the real value"
echo PASS
