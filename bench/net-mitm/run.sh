#!/usr/bin/env bash
# bench/net-mitm: HTTPS download throughput through net::Proxy's interception (sandbox CA,
# upstream verified, HTTP/1.1 re-framed) vs the same download directly from the same
# loopback HTTPS server, and vs Debian's mitmproxy (mitmdump) when installed, in one run.
# Goal (issue 6 item 9): MITM/direct >= 0.25.
#   bench/net-mitm/run.sh [BUILD_DIR] [MIB]
set -euo pipefail
[ -n "${BENCH_DEBUG:-}" ] && set -x
BUILD=${1:-build}
MIB=${2:-256}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
HARNESS="$BUILD/tests/proxy_harness"
[ -x "$HARNESS" ] || { echo "build proxy_harness first: cmake --build $BUILD --target proxy_harness" >&2; exit 2; }
TMP=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$TMP"' EXIT
fail() { echo "bench: $*" >&2; exit 1; }
wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; fail "no $1"; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/ca.key" -out "$TMP/ca.pem" \
  -subj /CN=bench-ca -days 1 -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TMP/server.key" -out "$TMP/server.csr" \
  -subj /CN=bench.test 2>/dev/null
printf 'subjectAltName=DNS:bench.test,IP:127.0.0.1\n' >"$TMP/ext.cnf"
openssl x509 -req -in "$TMP/server.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial -out "$TMP/server.pem" \
  -days 1 -extfile "$TMP/ext.cnf" 2>/dev/null

python3 "$SRC/tests/net/upstream_server.py" --port-file "$TMP/up.port" --log /dev/null \
  --cert "$TMP/server.pem" --key "$TMP/server.key" &
PIDS+=($!)
wait_file "$TMP/up.port"
UP=$(cat "$TMP/up.port")
export BENCH_TOKEN=bench-secret
"$HARNESS" --ready "$TMP/ready" --ca-out "$TMP/sandbox-ca.pem" --extra-ca "$TMP/ca.pem" \
  --secret TOKEN=BENCH_TOKEN@bench.test --upstream "bench.test:443=127.0.0.1:$UP" --flow bench.test,198.18.0.1,443 &
PIDS+=($!)
wait_file "$TMP/ready"
PROXY=$(head -1 "$TMP/ready")
PH=$(sed -n 's/^TOKEN=//p' "$TMP/ready")
BYTES=$((MIB * 1024 * 1024))
URL="https://bench.test/big?n=$BYTES"

# speed URL CURL-ARGS...: bytes/s of one download (best of 3)
speed() {
  local best=0 s
  for _ in 1 2 3; do
    s=$(curl -sS -o /dev/null -w '%{speed_download}' -H "Authorization: Bearer $PH" "$@" "$URL")
    s=${s%.*}
    [ "$s" -gt "$best" ] && best=$s
  done
  echo "$best"
}
DIRECT=$(speed --cacert "$TMP/ca.pem" --resolve "bench.test:443:127.0.0.1" --connect-to "bench.test:443:127.0.0.1:$UP")
MITM=$(speed --cacert "$TMP/sandbox-ca.pem" --connect-to "bench.test:443:127.0.0.1:$PROXY")
mbs() { awk -v b="$1" 'BEGIN { printf "%.1f MB/s", b / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "download of $MIB MiB over HTTPS on loopback (best of 3)"
echo "  direct                 $(mbs "$DIRECT")"
echo "  matchlock MITM         $(mbs "$MITM")   ratio $(ratio "$MITM" "$DIRECT") (goal >= 0.25)"
if command -v mitmdump >/dev/null; then
  # Reverse mode: mitmdump terminates TLS for bench.test with its own CA and re-encrypts to
  # the same upstream, verified against the bench CA (the server cert also names 127.0.0.1).
  MPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mitmdump -q --mode "reverse:https://127.0.0.1:$UP" --listen-host 127.0.0.1 --listen-port "$MPORT" \
    --set confdir="$TMP/mitm" --set ssl_verify_upstream_trusted_ca="$TMP/ca.pem" --set flow_detail=0 \
    >"$TMP/mitm.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 300); do
    [ -s "$TMP/mitm/mitmproxy-ca-cert.pem" ] && (exec 3<>"/dev/tcp/127.0.0.1/$MPORT") 2>/dev/null && break
    sleep 0.1
  done
  MITMPROXY=$(speed --cacert "$TMP/mitm/mitmproxy-ca-cert.pem" --connect-to "bench.test:443:127.0.0.1:$MPORT")
  echo "  mitmproxy (mitmdump)   $(mbs "$MITMPROXY")   ratio $(ratio "$MITMPROXY" "$DIRECT")"
  echo "  matchlock / mitmproxy  $(ratio "$MITM" "$MITMPROXY")x"
else
  echo "  mitmproxy              not installed (apt-get install mitmproxy) - not measured"
fi
