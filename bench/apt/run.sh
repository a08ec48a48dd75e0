#!/usr/bin/env bash
# bench/apt: the README's own use case, for real: `apt-get install -y nodejs npm` inside a
# sandbox from Debian's mirror, once over plain HTTP (every request through the proxy's
# HTTP/1.1 loop: keep-alive, pipelining, Host checks) and once over HTTPS (passthrough:
# the baseline, the proxy only splices bytes). Prints both wall times and their ratio
# (goal: plain HTTP within 1.5x of HTTPS; before issue 12 it did not finish in an hour).
#   bench/apt/run.sh [PACKAGES...]          (default: nodejs npm)
# Needs the network (deb.debian.org). Where the host reaches the internet through a
# TLS-inspecting proxy, its CA (MATCHLOCK_BENCH_CA, default: every extra CA in
# /usr/local/share/ca-certificates) is given to the guest, as a company CA would be.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
ml="${MATCHLOCK:-$root/build/matchlock}"
[ -x "$ml" ] || { echo "bench/apt: $ml not built" >&2; exit 2; }
packages=("$@")
[ $# -eq 0 ] && packages=(nodejs npm)
work=$(mktemp -d /tmp/ml-bench-apt.XXXXXX)
trap 'rm -rf "$work"' EXIT
export XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config"
images="${MATCHLOCK_BENCH_IMAGES:-$root/.matchlock-example/images}"
python3 "$root/tests/rig/make_image.py" --out "$images" debian >/dev/null
ca="${MATCHLOCK_BENCH_CA:-}"
if [ -z "$ca" ]; then
  ca="$work/extra-ca.pem"
  cat /usr/local/share/ca-certificates/*.crt >"$ca" 2>/dev/null || : >"$ca"
fi

cat >"$work/Matchlockfile" <<TOML
version = 1
name = "bench-apt"
[sandbox]
image = "oci-layout:$images/debian:latest"
cpus = 2
memory = "2GiB"
disk = "4GiB"
[network]
allow = ["deb.debian.org"]
TOML

run_install() {  # run_install SCHEME: prints seconds
  local scheme=$1 t0 t1
  t0=$(date +%s.%N)
  "$ml" -f "$work/Matchlockfile" run --trust -e EXTRA_CA="$(cat "$ca")" -e SCHEME="$scheme" -- bash -c '
    set -e
    printf "%s\n" "$EXTRA_CA" >/usr/local/share/ca-certificates/extra.crt
    update-ca-certificates >/dev/null 2>&1 || true
    sed -i "s#http://deb.debian.org#$SCHEME://deb.debian.org#" /etc/apt/sources.list
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q update >/tmp/apt.log 2>&1 || { tail -20 /tmp/apt.log; exit 1; }
    apt-get install -y -q --no-install-recommends '"${packages[*]}"' >>/tmp/apt.log 2>&1 || { tail -20 /tmp/apt.log; exit 1; }
    echo "installed: $(dpkg -l | grep -c ^ii) packages; $(node --version 2>/dev/null || true)"
    grep -E "^Fetched" /tmp/apt.log | tail -1
  ' </dev/null >&2
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
}

echo "bench/apt: apt-get install -y ${packages[*]} in a fresh sandbox (boot + update + install)"
https=$(run_install https)
echo "over HTTPS (passthrough, baseline): ${https} s"
http=$(run_install http)
echo "over plain HTTP (proxy HTTP loop):  ${http} s"
awk -v a="$http" -v b="$https" 'BEGIN { printf "ratio http/https: %.2f (goal <= 1.5)\n", a / b }'
grep -c '"kind":"http"' "$XDG_STATE_HOME/matchlock/sandboxes/bench-apt/audit.jsonl" 2>/dev/null |
  sed 's/^/HTTP requests audited in the last run: /' || true
