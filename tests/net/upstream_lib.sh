# A test CA and upstream servers on 127.0.0.1, shared by tests/net/proxy_lib.sh (the
# proxy on loopback) and tests/vm/net_lib.sh (the in-guest network tests). Only
# definitions: each suite keeps its own pid list and cleanup.

# make_test_ca DIR NAME...: DIR/ca.pem and DIR/server.{pem,key} valid for the NAMEs
# (the server's CN is the first NAME).
make_test_ca() {
  local dir=$1; shift
  local san="" n
  for n in "$@"; do san="${san:+$san,}DNS:$n"; done
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -subj /CN=matchlock-test-ca -days 2 -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign 2>/dev/null || fail "openssl CA"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/server.key" -out "$dir/server.csr" \
    -subj "/CN=$1" 2>/dev/null || fail "openssl server key"
  printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" >"$dir/ext.cnf"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -out "$dir/server.pem" -days 1 -extfile "$dir/ext.cnf" 2>/dev/null || fail "openssl server cert"
}

# wait_file FILE: waits up to 10 s for FILE to exist.
wait_file() {
  local i
  for i in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done
  fail "timed out waiting for $1"
}

# start_upstream_server PIDS NAME [tls]: tests/net/upstream_server.py on 127.0.0.1 (TLS
# with $TEST_TMP/server.{pem,key}); its pid is added to the array named PIDS, its port
# left in UPSTREAM_PORT, requests logged to $TEST_TMP/NAME.log; /canned/F serves $TEST_TMP/canned/F.
start_upstream_server() {
  local -n pids=$1
  local name=$2 tls=${3:-}
  local args=(--port-file "$TEST_TMP/$name.port" --log "$TEST_TMP/$name.log" --canned "$TEST_TMP/canned")
  [ -n "$tls" ] && args+=(--cert "$TEST_TMP/server.pem" --key "$TEST_TMP/server.key")
  python3 "$MATCHLOCK_SOURCE_DIR/tests/net/upstream_server.py" "${args[@]}" &
  pids+=($!)
  wait_file "$TEST_TMP/$name.port"
  UPSTREAM_PORT=$(cat "$TEST_TMP/$name.port")
  touch "$TEST_TMP/$name.log"
}
