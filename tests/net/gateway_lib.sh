# The rig of the gateway.* tests: the security suite's world (tests/security/lib.sh) plus a
# "pod" network namespace whose only link is a veth to the gateway's address; the pod has no
# route anywhere else. Sourced after tests/security/lib.sh, inside sec_enter_namespaces.
#   GW_ADDR 10.77.0.1 (the gateway, in the world's netns); the pod is 10.77.0.2 and 10.77.0.3.
GW_ADDR=10.77.0.1
GW_CLIENT="$MATCHLOCK_SOURCE_DIR/tests/net/gateway_client.py"
GW_PID=""
POD_PID=""
for tool in curl openssl python3 ip nsenter unshare; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done

gw_cleanup() {
  if [ -n "$GW_PID" ]; then kill "$GW_PID" 2>/dev/null || true; wait "$GW_PID" 2>/dev/null || true; fi
  if [ -n "$POD_PID" ]; then kill "$POD_PID" 2>/dev/null || true; wait "$POD_PID" 2>/dev/null || true; fi
  sec_stop_servers
  rm -rf "$TEST_TMP"
}

# gw_world: the world (servers, /etc/hosts with private.test -> 127.0.0.1) and the pod.
gw_world() {
  trap gw_cleanup EXIT
  sec_world
  echo "127.0.0.1 private.test" >>"$TEST_TMP/hosts"
  unshare -n sleep infinity &
  POD_PID=$!
  local i
  for i in $(seq 50); do
    [ "$(readlink /proc/$POD_PID/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
    sleep 0.1
  done
  ip link add gw0 type veth peer name pod0 netns "$POD_PID" || fail "veth"
  ip addr add "$GW_ADDR/24" dev gw0 && ip link set gw0 up || fail "gw0 up"
  pod ip link set lo up
  pod ip addr add 10.77.0.2/24 dev pod0 || fail "pod address"
  pod ip addr add 10.77.0.3/24 dev pod0 || fail "pod address 2"
  pod ip link set pod0 up || fail "pod0 up"
}

# pod CMD...: runs CMD in the pod's network namespace.
pod() { nsenter -t "$POD_PID" -n "$@"; }
# pcurl ARGS...: curl in the pod through the gateway; prints the status (body in $TEST_TMP/body).
pcurl() {
  pod curl -sS --max-time 20 -o "$TEST_TMP/body" -w '%{http_code}' --proxy "http://$GW_ADDR:3128" "$@" 2>/dev/null || true
}
# pod_code URL: a direct request from the pod (no proxy).
pod_code() { pod curl -sS --max-time 5 -o /dev/null -w '%{http_code}' --noproxy '*' "$1" 2>/dev/null || true; }

# gw_secret_volume SECRET KEY VALUE: $TEST_TMP/secrets/SECRET/KEY laid out like a kubelet's
# Secret volume (KEY -> ..data/KEY, ..data -> ..<timestamp>/).
gw_secret_volume() {
  local dir="$TEST_TMP/secrets/$1" stamp="..2026_01_01_00_00_00.1"
  mkdir -p "$dir/$stamp"
  printf '%s\n' "$3" >"$dir/$stamp/$2"
  [ -e "$dir/..data" ] || ln -s "$stamp" "$dir/..data"
  ln -s "..data/$2" "$dir/$2"
}

# gw_start ARGS...: the gateway on $GW_ADDR:3128 (health :8080), stdout -> gw.out, stderr -> gw.err;
# waits for /readyz.
gw_start() {
  "$MATCHLOCK" gateway --listen "$GW_ADDR:3128" --health "$GW_ADDR:8080" "$@" >"$TEST_TMP/gw.out" 2>"$TEST_TMP/gw.err" &
  GW_PID=$!
  local i
  for i in $(seq 100); do
    [ "$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "http://$GW_ADDR:8080/readyz")" = 200 ] && return 0
    kill -0 "$GW_PID" 2>/dev/null || fail "the gateway exited: $(cat "$TEST_TMP/gw.err")"
    sleep 0.1
  done
  fail "the gateway never became ready: $(cat "$TEST_TMP/gw.err")"
}

# gw_stop_expect_clean: SIGTERM; the gateway exits 0 within 15 s.
gw_stop_expect_clean() {
  local start=$SECONDS rc=0
  kill -TERM "$GW_PID"
  wait "$GW_PID" || rc=$?
  GW_PID=""
  [ "$rc" = 0 ] || fail "the gateway exited $rc on SIGTERM: $(tail -5 "$TEST_TMP/gw.err")"
  [ $((SECONDS - start)) -le 15 ] || fail "the gateway took $((SECONDS - start)) s to stop"
}
