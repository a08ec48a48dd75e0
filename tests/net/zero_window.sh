# Zero window both ways: a slow guest reader (curl --limit-rate) stalls the stack's sending and
# the upstream; a slow upstream reader stalls the guest's sending. Data stays intact.
. "$(dirname "$0")/lib.sh"
command -v nc >/dev/null || skip "nc (netcat-openbsd) not installed"
mkdir data
head -c 12M /dev/urandom > data/blob
want=$(sha data/blob)
http_port=$(start_upstream http "$work/data")
sink_port=$(start_upstream slowsink)
# Both sizes exceed every buffer on the path (guest rmem, 1 MiB flow ring, socketpair, loopback).
rig -- sh -c "
  set -e
  curl -sS --fail --limit-rate 4M -o got http://192.0.2.1:$http_port/blob
  head -c 20M /dev/urandom > part
  nc -N 192.0.2.1 $sink_port < part > sink.out
" > out 2>&1 || { cat out; fail "transfers failed"; }
[ "$(sha got)" = "$want" ] || fail "slow reader: corrupted"
grep -q "$(sha part) $((20 << 20))" sink.out || { cat sink.out; fail "slow upstream: $(cat sink.out)"; }
echo "ok: slow guest reader and slow upstream reader, sha256 equal"
