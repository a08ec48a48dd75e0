# security.host_services: [network.services] from inside a booted Debian guest as root, in
# the private netns of lib.sh (block_private on). Real TCP servers on the host side:
#   127.0.0.1:5432   the pg service (answers "svc-ok"; logs each connection)
#   127.0.0.1:18080  the web service (tests/net/upstream_server.py: logs every request)
#   127.0.0.1:5433, 127.0.0.1:8080, 10.0.0.5:5432 (a "LAN" host), UDP 127.0.0.1:5432:
#                    catchers that must stay empty (other ports, the guest-side port on the
#                    host, the same port on another address, UDP)
# The guest runs host_service_attacks.pl (raw DNS/TCP) and curl; each line says what was
# tried and what held. Then: the catchers are empty, only the expected requests reached
# the web service, the audit log records the flows, `net why` explains them.
. "$(dirname "$0")/prelude.sh"
ip addr add 10.0.0.5/32 dev lo || fail "ip addr add 10.0.0.5"
# Allowed names whose host-side answers are the service's address and the LAN host.
printf '127.0.0.1 rebind.test\n10.0.0.5 lan.test\n' >>"$TEST_TMP/hosts"

python3 - "$TEST_TMP" <<'PY' &
import os, socket, sys, threading
tmp = sys.argv[1]
def log(name, line):
    with open(os.path.join(tmp, name), "a") as f: f.write(line + "\n")
def service(addr, port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((addr, port)); s.listen(64)
    while True:
        c, peer = s.accept()
        log("pg.conn.log", "%s:%d" % peer)
        def serve(c):
            try:
                c.settimeout(10)
                data = c.recv(4096)
                if data:
                    log("pg.log", repr(data))
                c.sendall(b"svc-ok\n")
            except OSError:
                pass
            c.close()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
def catch_tcp(addr, port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((addr, port)); s.listen(16)
    while True:
        c, peer = s.accept()
        log("escape.log", "tcp %s:%d from %s:%d" % (addr, port, peer[0], peer[1]))
        c.close()
def catch_udp(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((addr, port))
    while True:
        data, peer = s.recvfrom(65536)
        log("escape.log", "udp %s:%d %r" % (addr, port, data[:32]))
threading.Thread(target=service, args=("127.0.0.1", 5432), daemon=True).start()
for a, p in (("127.0.0.1", 5433), ("127.0.0.1", 8080), ("10.0.0.5", 5432)):
    threading.Thread(target=catch_tcp, args=(a, p), daemon=True).start()
threading.Thread(target=catch_udp, args=("127.0.0.1", 5432), daemon=True).start()
open(os.path.join(tmp, "svc.ready"), "w").write("1")
threading.Event().wait()
PY
SEC_PIDS+=($!)
python3 "$MATCHLOCK_SOURCE_DIR/tests/net/upstream_server.py" --host 127.0.0.1 --port 18080 \
  --port-file "$TEST_TMP/web.port" --log "$TEST_TMP/web.log" &
SEC_PIDS+=($!)
wait_file "$TEST_TMP/svc.ready"
wait_file "$TEST_TMP/web.port"
touch "$TEST_TMP/escape.log" "$TEST_TMP/pg.log" "$TEST_TMP/pg.conn.log" "$TEST_TMP/web.log"

cat >"$PROJ/Matchlockfile" <<TOML
version = 1
name = "svc"
[sandbox]
image = "oci-layout:$ML_IMG_DEBIAN:latest"
cpus = 1
memory = "512MiB"
disk = "256MiB"
workdir = "/root"

[network]
allow = ["allowed.test", "rebind.test", "lan.test"]
ca = "$TEST_TMP/ca.pem"

[network.services]
pg = "127.0.0.1:5432"
web = { to = "127.0.0.1:18080", port = 8080 }
TOML

# The plan and `config` name each service with its endpoint (the trust grants: trust_tests).
run_ml up --dry-run
expect_rc 0
expect_contains "$OUT" "--service pg.host.internal:5432 -> 127.0.0.1:5432"
expect_contains "$OUT" "--service web.host.internal:8080 -> 127.0.0.1:18080"
run_ml config
expect_rc 0
expect_contains "$OUT" 'web = { to = "127.0.0.1:18080", port = 8080 }  # web.host.internal:8080'

read -r -d '' GUEST <<'EOS' || true
set +e
printf '%s\n' "$ATTACKS" >/tmp/attacks.pl
perl /tmp/attacks.pl
# Real clients by name: curl to the HTTP service, and getent through the guest's resolver.
echo "curl_web=$(curl -sS --max-time 20 -o /dev/null -w '%{http_code}' http://web.host.internal:8080/curl 2>/dev/null)"
echo "curl_web_host_header=$(curl -sS --max-time 20 -o /dev/null -w '%{http_code}' -H 'Host: localhost' http://web.host.internal:8080/curl-front 2>/dev/null)"
echo "curl_web_resolve_loopback=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' --resolve web.host.internal:18080:127.0.0.1 http://web.host.internal:18080/ 2>/dev/null; echo " rc=$?")"
echo "getent_pg=$(getent hosts pg.host.internal | cut -d' ' -f1 | cut -d. -f1-2)"
EOS
run_ml run -e ATTACKS="$(cat "$MATCHLOCK_SOURCE_DIR/tests/security/attack_lib.pl" "$MATCHLOCK_SOURCE_DIR/tests/security/host_service_attacks.pl")" -- bash -c "$GUEST"
expect_rc 0
sec_result done 1

# DNS: the declared name only, at a synthetic address; AAAA empty; nothing else under host.internal.
sec_result dns_service "rcode=0 answers=1"
sec_result dns_service_synthetic yes
sec_result dns_service_case same
sec_result dns_service_aaaa "rcode=0 answers=0"
sec_result dns_undeclared "rcode=3 answers=0"
sec_result dns_bare_domain "rcode=3 answers=0"
sec_result dns_below_service "rcode=3 answers=0"
sec_result getent_pg 198.18
# The service, by name and by its synthetic address.
sec_result svc_ok svc-ok
sec_result svc_ok_by_synthetic_ip svc-ok
sec_result curl_web 200
# Every other port and address of the host and LAN stays closed: the connection is reset
# ("closed") or refused, depending on when the guest's stack sees the reset; what matters
# is that it never answers, and that the catchers below stay empty.
sec_result_any svc_other_port closed refused
sec_result_any svc_synthetic_other_port closed refused
sec_result_any svc_port_of_other_service closed refused
sec_result svc_host_side_port 403   # an HTTP request: refused with a 403 naming the reason
sec_result_any svc_gateway_literal closed refused
sec_result_any svc_lan_literal closed refused
sec_result svc_host_loopback_literal refused
sec_result_any svc_rebind_name closed refused
sec_result_any svc_rebind_name_other_port closed refused
sec_result_any svc_lan_name closed refused
sec_result_any svc_allowed_name_service_port closed refused   # allowed.test has nothing on 5432: never the service
sec_result svc_udp_sent yes
expect_contains "$(printf '%s\n' "$OUT" | sed -n 's/^curl_web_resolve_loopback=//p')" "rc=7"
# Host header and SNI games.
sec_result web_ok 200
sec_result web_host_localhost 403
sec_result web_host_loopback_ip 403
sec_result web_host_undeclared 403
sec_result web_host_other_service 403
sec_result web_host_rebind 403
sec_result web_absolute_loopback 400
sec_result web_connect 405
sec_result web_dup_host 400
sec_result web_pipelined_front "200,403"
sec_result front_to_service_from_allowed 403
sec_result curl_web_host_header 403
sec_result tls_sni_evil_on_service alert
sec_result tls_sni_localhost_on_service alert
sec_result tls_sni_service_on_allowed alert

# What reached the host: the pg service exactly as often as the guest was allowed to, the
# web service only the allowed requests, the catchers nothing, evil.test nothing.
sleep 1
[ ! -s "$TEST_TMP/escape.log" ] || fail "ESCAPE: a host port or address that is not the service was reached: $(cat "$TEST_TMP/escape.log")"
# (The proxy connects before the guest's first bytes, for server-first protocols: a TLS
# hello refused on the service's flow shows there as a connection without data.)
[ "$(grep -cF "b'ping\\n'" "$TEST_TMP/pg.log")" -eq 2 ] && [ "$(wc -l <"$TEST_TMP/pg.log")" -eq 2 ] ||
  fail "the pg service received: $(cat "$TEST_TMP/pg.log"), expected ping twice (svc_ok, svc_ok_by_synthetic_ip)"
python3 - "$TEST_TMP/web.log" <<'PY' || fail "the web service's requests: $(cat "$TEST_TMP/web.log")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
paths = sorted(r["path"] for r in reqs)
assert paths == ["/curl", "/first", "/ok"], paths
for r in reqs:
    assert r["headers"]["Host"].split(":")[0] == "web.host.internal", r
PY
sec_expect_no_escape

# The audit log: allowed service flows carry the service's rule, refusals say why.
run_ml net log --name svc --json
expect_rc 0
printf '%s\n' "$OUT" | python3 -c '
import json, sys
ev = [json.loads(l) for l in sys.stdin if l.strip()]
def has(**kw):
    return any(all(e.get(k) == v for k, v in kw.items()) for e in ev)
assert has(name="pg.host.internal", port=5432, decision="allow", rule="pg.host.internal:5432"), "allowed pg flow"
assert has(name="web.host.internal", port=8080, decision="allow", rule="web.host.internal:8080"), "allowed web flow"
assert has(name="pg.host.internal", port=5433, decision="deny"), "pg on 5433"
assert has(name="mysql.host.internal", kind="dns", decision="deny"), "undeclared dns"
assert any(e.get("decision") == "deny" and "private address 127.0.0.1" in e.get("reason", "") for e in ev), "rebind.test"
assert any(e.get("decision") == "deny" and "reached by its own name only" in e.get("reason", "") for e in ev), "Host game"
' || fail "audit log: $OUT"
run_ml net log --name svc
expect_contains "$OUT" "pg.host.internal:5432"
# `net why` explains both sides, and how to declare a service instead of an allow rule.
run_ml net why pg.host.internal:5432
expect_contains "$OUT" "allow pg.host.internal:5432: allowed by network.services.pg (127.0.0.1:5432 on the host)"
run_ml net why pg.host.internal:5433
expect_contains "$OUT" "DENY  pg.host.internal:5433: pg.host.internal is a host service on port 5432 only"
run_ml net why mysql.host.internal:3306
expect_contains "$OUT" "[network.services]"
run_ml net suggest --name svc
case "$OUT" in *host.internal*) fail "net suggest proposed an allow rule for a service name: $OUT" ;; esac
no_qemu_left
