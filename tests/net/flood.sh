# Supervisor memory under floods from the guest (issue 12 item 7). The whole host side of a
# sandbox's network (net::Stack + net::Proxy in proxy_rig, MTU 65520 like a sandbox) while the
# guest, in the rig's netns, runs
#   1. a SYN flood: raw SYNs whose SYN-ACKs the guest's kernel drops (iptables), so every one
#      stays half-open on the host side;
#   2. a slow-reader flood: 200 connections (the flow cap is 256) each asking for 1 GiB and never reading;
#   3. a connection flood beyond the per-sandbox flow cap (idle connections).
# Checks: the rig's peak RSS stays within $ML_FLOOD_BOUND_MIB (64) MiB of its idle RSS; a
# flow opened before the floods keeps working and a new request succeeds during floods 1
# and 2; beyond the cap connections are refused at once (RST) and the refusal is audited;
# RSS comes back within 4 MiB of idle once the flows close. Numbers are printed (KiB).
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/proxy_lib.sh"
RIG="${MATCHLOCK_BINARY_DIR:?}/tests/proxy_rig"
[ -x "$RIG" ] || fail "proxy_rig not built at $RIG"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for a network namespace, TAP and raw sockets"; exit 77; }
command -v iptables >/dev/null || { echo "SKIP: iptables not installed (the SYN flood drops SYN-ACKs with it)"; exit 77; }
start_upstream HTTP 2>>"$TEST_TMP/upstream.err"   # its tracebacks for reset flows are noise here
AUDIT="$TEST_TMP/audit.jsonl"
export FLOOD_PY="$MATCHLOCK_SOURCE_DIR/tests/net/flood.py" W="$TEST_TMP"
export BOUND_KIB=$(( ${ML_FLOOD_BOUND_MIB:-64} * 1024 )) SYNS=${ML_FLOOD_SYNS:-20000} SLOW=${ML_FLOOD_SLOW:-200}
export IDLE_FLOWS=${ML_FLOOD_IDLE:-700} ML_FLOOD_SMAPS=${ML_FLOOD_SMAPS:-}

cat >"$TEST_TMP/guest.sh" <<'EOS'
set -u
RIG_PID=$PPID                  # `ip netns exec` execs the command: our parent is the rig
ulimit -n "$(ulimit -Hn)"
kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$RIG_PID/status"; }
say() { echo "$*" | tee -a "$W/numbers"; }
# A sampler keeps the peak RSS; past idle + 1 GiB it stops the floods (protects the host
# when the bound is broken) and says so.
sampler() {
  local peak=0 r
  while [ ! -e "$W/sampler.stop" ]; do
    [ -e "$W/peak.reset" ] && { peak=0; rm -f "$W/peak.reset"; }
    r=$(kib VmRSS); [ "$r" -gt "$peak" ] && { peak=$r; echo "$peak" >"$W/peak.tmp"; mv "$W/peak.tmp" "$W/peak"; }
    if [ "$r" -gt $((IDLE + 1048576)) ] && [ ! -e "$W/guard" ]; then
      echo "RSS $r KiB: flood stopped by the guard" >"$W/guard"
      touch "$W/stop.slow" "$W/stop.idle"; [ -s "$W/syn.pid" ] && kill "$(cat "$W/syn.pid")" 2>/dev/null
    fi
    sleep 0.05
  done
}
peak_since() { touch "$W/peak.reset"; while [ -e "$W/peak.reset" ]; do sleep 0.02; done; }
peak() { cat "$W/peak"; }
ok() { curl -sS --max-time 30 -o /dev/null -w '%{http_code}' "$@"; }

[ "$(ok http://plain.test/warm)" = 200 ] || { echo "warm-up request failed"; exit 1; }
sleep 1
IDLE=$(kib VmRSS)
say "idle_rss=$IDLE"
sampler & SAMPLER=$!

# A flow opened before the floods: an upgraded echo stream (the proxy tunnels it).
exec 3<>/dev/tcp/plain.test/80
printf 'GET /upgrade HTTP/1.1\r\nHost: plain.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n' >&3
while IFS= read -r -t 10 line <&3; do [ "$line" = $'\r' ] && break; done
echo_ok() { echo "$1" >&3; IFS= read -r -t 20 reply <&3 && [ "$reply" = "echo:$1" ]; }
echo_ok before || { echo "echo stream does not work before the floods"; exit 1; }

# 1. SYN flood on port 81 (flood.test); legitimate traffic uses port 80.
iptables -A INPUT -p tcp --sport 81 --tcp-flags SYN,ACK SYN,ACK -j DROP
FLOOD_IP=$(getent ahostsv4 flood.test | awk 'NR==1{print $1}')
peak_since
python3 "$FLOOD_PY" syn "$FLOOD_IP" 81 "$SYNS" >"$W/syn.out" 2>&1 & SYN=$!
echo $SYN >"$W/syn.pid"
sleep 1
code=$(ok http://plain.test/during-syn-flood)
echo_ok syn || { echo "echo stream broken by the SYN flood"; exit 1; }
wait $SYN || { cat "$W/syn.out"; exit 1; }
sleep 1
say "syn_flood_peak_rss=$(peak) sent=$(sed -n 's/^sent=//p' "$W/syn.out")"
[ "$code" = 200 ] || { echo "request during the SYN flood: HTTP $code"; exit 1; }
# The half-open table is full of the flood's connections: 8 parallel requests get SYN cookies
# and must all complete. The request during the flood freed a slot; a short burst takes it
# back first (otherwise, on a slow machine, each request can find that one slot free in turn).
python3 "$FLOOD_PY" syn "$FLOOD_IP" 81 200 >"$W/syn2.out" 2>&1 || { cat "$W/syn2.out"; exit 1; }
pids=()
for i in $(seq 8); do ok "http://plain.test/cookie-$i" >"$W/cookie.$i" & pids+=($!); done
wait "${pids[@]}"
sleep 0.3
for i in $(seq 8); do [ "$(cat "$W/cookie.$i")" = 200 ] || { echo "request $i after the SYN flood: HTTP $(cat "$W/cookie.$i")"; exit 1; }; done
cookies=$(sed -n 's/.*syn_cookies_accepted=\([0-9]*\).*/\1/p' "$W/stats")
[ "${cookies:-0}" -ge 1 ] || { echo "no handshake completed through a SYN cookie: $(cat "$W/stats")"; exit 1; }

# 2. Slow readers: SLOW connections asking for 1 GiB, never reading.
peak_since
python3 "$FLOOD_PY" hold plain.test 80 "$SLOW" "$W/stop.slow" 'GET /big?n=1073741824 HTTP/1.1\r\nHost: plain.test\r\n\r\n' \
  >"$W/slow.out" 2>&1 & SLOWP=$!
for _ in $(seq 600); do grep -q connected= "$W/slow.out" && break; sleep 0.1; done
sleep 3                        # every buffer on the way fills
code=$(curl -sS --max-time 60 -o "$W/during.bin" -w '%{http_code}' 'http://plain.test/big?n=4194304')
size=$(stat -c %s "$W/during.bin" 2>/dev/null || echo 0)
echo_ok slow || { echo "echo stream broken by the slow readers"; exit 1; }
sleep 1
say "slow_reader_peak_rss=$(peak) $(cat "$W/slow.out")"
touch "$W/stop.slow"; wait $SLOWP
[ "$code" = 200 ] && [ "$size" = 4194304 ] || { echo "download during the slow-reader flood: HTTP $code, $size bytes"; exit 1; }

# 3. Idle connections beyond the flow cap: the excess is refused at once.
peak_since
python3 "$FLOOD_PY" hold plain.test 80 "$IDLE_FLOWS" "$W/stop.idle" >"$W/idle.out" 2>&1 & IDLEP=$!
for _ in $(seq 600); do grep -q connected= "$W/idle.out" && break; sleep 0.1; done
say "idle_flood_peak_rss=$(peak) $(cat "$W/idle.out")"
echo_ok capped || { echo "echo stream broken by the connection flood"; exit 1; }
touch "$W/stop.idle"; wait $IDLEP
echo_ok after || { echo "echo stream broken after the floods"; exit 1; }

# After: every flood flow closed (the stateful half-open ones time out after 75 s; they hold
# no buffer). The stack and the proxy must hold nothing for them any more.
exec 3>&-
stat() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" "$W/stats"; }
quiet() {  # waits until no flow but the SYN flood's half-open ones is left, and nothing is buffered
  local i
  for i in $(seq 150); do
    [ "$(stat open_flows)" = "$(stat half_open)" ] && [ "$(stat buffered_bytes)" = 0 ] && [ "$(stat proxy_flows)" = 0 ] &&
      return 0
    sleep 0.2
  done
  echo "flows still open after the floods: $(cat "$W/stats")"
  [ -n "${ML_FLOOD_DEBUG:-}" ] && { echo "$RIG_PID" >"$ML_FLOOD_DEBUG"; sleep 600; }
  return 1
}
quiet || exit 1
[ "$(ok http://plain.test/after)" = 200 ] || { echo "no request succeeds after the floods"; exit 1; }
quiet || exit 1
sleep 1
say "after_rss=$(kib VmRSS) hwm=$(kib VmHWM) $(cat "$W/stats")"
[ -n "${ML_FLOOD_SMAPS:-}" ] && cp "/proc/$RIG_PID/smaps" "$ML_FLOOD_SMAPS"
touch "$W/sampler.stop"; wait $SAMPLER
[ ! -e "$W/guard" ] || { cat "$W/guard"; exit 1; }
EOS

set +e
"$RIG" --mtu 65520 --ca-out "$TEST_TMP/sandbox-ca.pem" --audit "$AUDIT" --stats "$TEST_TMP/stats" --allow plain.test --allow flood.test \
  --upstream "plain.test:80=127.0.0.1:$UP_HTTP_PORT" --upstream "flood.test:81=127.0.0.1:$UP_HTTP_PORT" \
  -- bash "$TEST_TMP/guest.sh" >"$TEST_TMP/out" 2>&1
RC=$?
set -e
cat "$TEST_TMP/out"
[ "$RC" = 77 ] && exit 77
[ "$RC" = 0 ] || fail "guest checks (exit $RC)"
num() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" "$TEST_TMP/numbers" | head -1; }
IDLE=$(num idle_rss)
for phase in syn_flood_peak_rss slow_reader_peak_rss idle_flood_peak_rss; do
  v=$(num $phase)
  echo "$phase: $(( (v - IDLE) / 1024 )) MiB above idle (bound $((BOUND_KIB / 1024)) MiB)"
  [ "$v" -le $((IDLE + BOUND_KIB)) ] || fail "$phase $v KiB exceeds idle $IDLE KiB + $BOUND_KIB KiB"
done
AFTER=$(num after_rss)
echo "after the floods: $(( (AFTER - IDLE) / 1024 )) MiB above idle"
[ "$AFTER" -le $((IDLE + 4096)) ] || fail "RSS after the floods ($AFTER KiB) is not back near idle ($IDLE KiB)"
refused=$(sed -n 's/.*idle_flood_peak_rss=.* refused=\([0-9]*\).*/\1/p' "$TEST_TMP/numbers")
[ "${refused:-0}" -gt 0 ] || fail "no connection beyond the flow cap was refused: $(cat "$TEST_TMP/numbers")"
grep -q '"reason":"[^"]*flow limit' "$AUDIT" || fail "the flow-limit refusal is not audited"
echo PASS
