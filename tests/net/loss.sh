# 5% loss (netem on the guest's NIC: frames toward the stack) still completes, both directions.
. "$(dirname "$0")/lib.sh"
mkdir data
head -c 16M /dev/urandom > data/blob
want=$(sha data/blob)
port=$(start_upstream http "$work/data")
start=$(date +%s)
NET_RIG_STATS=1 rig --loss 5 -- sh -c "
  set -e
  curl -sS --fail --max-time 240 -o got http://192.0.2.1:$port/blob
  curl -sS --fail --max-time 240 -T data/blob http://192.0.2.1:$port/up > put
" > out 2>&1 || { cat out; fail "transfers under loss failed"; }
grep netem out || true
[ "$(sha got)" = "$want" ] || fail "download under loss corrupted"
[ "$(cat put)" = "$want $((16 << 20))" ] || fail "upload under loss: $(cat put)"
grep -o 'retransmits [0-9]*' out || true
echo "ok: 16 MiB each way under 5% loss in $(( $(date +%s) - start ))s"
