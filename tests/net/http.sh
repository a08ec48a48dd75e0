# TCP through the stack with real curl/wget: download and upload with sha256, by name (synthetic
# address, FlowInfo.dst_name) and by direct IP, at MTU 1500 and 65520.
. "$(dirname "$0")/lib.sh"
command -v wget >/dev/null || skip "wget not installed"
mkdir data
head -c 24M /dev/urandom > data/blob
want=$(sha data/blob)
port=$(start_upstream http "$work/data")
for mtu in 1500 65520; do
  rm -f got.* flows
  rig --mtu "$mtu" --allow files.test --flow-log flows -- sh -c "
    set -e
    curl -sS --fail -o got.curl http://files.test:$port/blob
    wget -q -O got.wget http://203.0.113.7:$port/blob
    curl -sS --fail -T data/blob http://files.test:$port/up > got.put
    cat data/blob | curl -sS --fail -T - http://files.test:$port/up > got.chunked
  " > out 2>&1 || { cat out; fail "mtu $mtu: transfers failed"; }
  [ "$(sha got.curl)" = "$want" ] || fail "mtu $mtu: curl download corrupted"
  [ "$(sha got.wget)" = "$want" ] || fail "mtu $mtu: wget download corrupted"
  [ "$(cat got.put)" = "$want $((24 << 20))" ] || fail "mtu $mtu: upload: $(cat got.put)"
  [ "$(cat got.chunked)" = "$want $((24 << 20))" ] || fail "mtu $mtu: chunked upload: $(cat got.chunked)"
  grep -Eq "^198\.18\.0\.1 $port files\.test$" flows || { cat flows; fail "mtu $mtu: flow lacks dst_name"; }
  grep -q "^203\.0\.113\.7 $port -$" flows || { cat flows; fail "mtu $mtu: direct-IP flow not reported"; }
  echo "ok: mtu $mtu: 24 MiB down (curl, wget) and up (length, chunked), sha256 equal"
done
