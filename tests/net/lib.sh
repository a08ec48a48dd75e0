# Shared helpers for the netstack rig tests (tests/net/*.sh; the proxy's e2e test uses
# proxy_lib.sh instead): a work dir, upstream servers on 127.0.0.1, the rig.
set -euo pipefail
: "${NET_RIG:?NET_RIG must point at the net_rig binary}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d /tmp/mlnet-test.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  cd /
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

. "$here/../lib/report.sh"

for tool in curl ip python3; do command -v "$tool" >/dev/null || skip "$tool not installed"; done
[ "$(id -u)" -eq 0 ] || skip "needs root for netns and TAP"
[ -c /dev/net/tun ] || skip "/dev/net/tun absent"

# start_upstream MODE [ARGS...]: starts tests/net/upstream.py, prints its port.
start_upstream() {
  local pf="$work/port.$RANDOM$RANDOM"
  python3 "$here/upstream.py" "$pf" "$@" >"$work/upstream.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 100); do [ -s "$pf" ] && { cat "$pf"; return; }; sleep 0.05; done
  fail "upstream $1 did not start: $(cat "$work/upstream.log")"
}

# rig [RIG OPTIONS] -- COMMAND: runs COMMAND as the guest; exits 77 (skip) when the rig can't run.
rig() {
  local rc=0
  "$NET_RIG" "$@" || rc=$?
  [ "$rc" -eq 77 ] && skip "net_rig cannot create a netns/TAP here"
  return "$rc"
}

sha() { sha256sum "$1" | cut -c1-64; }
