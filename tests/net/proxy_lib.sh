# Shared setup for the proxy tests: a test CA, upstream servers on 127.0.0.1 and
# proxy_harness (net::Proxy on loopback listeners). Sourced after tests/cli/lib.sh.
HARNESS="${MATCHLOCK_BINARY_DIR:?}/tests/proxy_harness"
[ -x "$HARNESS" ] || fail "proxy_harness not built at $HARNESS"
for tool in curl openssl python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
PIDS=()
cleanup_net() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TEST_TMP"
}
trap cleanup_net EXIT

# make_test_ca DIR NAME...: DIR/ca.pem and DIR/server.{pem,key} valid for the NAMEs.
make_test_ca() {
  local dir=$1; shift
  local san="" n
  for n in "$@"; do san="${san:+$san,}DNS:$n"; done
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -subj /CN=matchlock-test-ca -days 2 -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/server.key" -out "$dir/server.csr" \
    -subj "/CN=$1" 2>/dev/null
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" >"$dir/ext.cnf"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/server.pem" -days 1 -extfile "$dir/ext.cnf" 2>/dev/null
}

# wait_file FILE: waits up to 10 s for FILE to exist.
wait_file() {
  local i
  for i in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done
  fail "timed out waiting for $1"
}

# start_upstream NAME [tls]: sets UP_<NAME>_PORT; requests logged to $TEST_TMP/NAME.log.
start_upstream() {
  local name=$1 tls=${2:-}
  local args=(--port-file "$TEST_TMP/$name.port" --log "$TEST_TMP/$name.log")
  [ -n "$tls" ] && args+=(--cert "$TEST_TMP/server.pem" --key "$TEST_TMP/server.key")
  python3 "$MATCHLOCK_SOURCE_DIR/tests/net/upstream_server.py" "${args[@]}" &
  PIDS+=($!)
  wait_file "$TEST_TMP/$name.port"
  printf -v "UP_${name}_PORT" '%s' "$(cat "$TEST_TMP/$name.port")"
  touch "$TEST_TMP/$name.log"
}

# start_harness ARGS...: FLOW_PORTS[i] is the listener of the i-th --flow; PH_<NAME> the placeholders.
start_harness() {
  "$HARNESS" --ready "$TEST_TMP/ready" "$@" 2>"$TEST_TMP/harness.err" &
  PIDS+=($!)
  wait_file "$TEST_TMP/ready"
  FLOW_PORTS=()
  local line
  while IFS= read -r line; do
    case "$line" in
      *=*) printf -v "PH_${line%%=*}" '%s' "${line#*=}" ;;
      *) FLOW_PORTS+=("$line") ;;
    esac
  done <"$TEST_TMP/ready"
}
