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

. "$(dirname "${BASH_SOURCE[0]}")/upstream_lib.sh"

# start_upstream NAME [tls]: sets UP_<NAME>_PORT; requests logged to $TEST_TMP/NAME.log.
start_upstream() {
  start_upstream_server PIDS "$@"
  printf -v "UP_${1}_PORT" '%s' "$UPSTREAM_PORT"
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
