# 1 GiB each direction with sha256, MTU 1500 and 65520 (~1 min here; ML_NET_LARGE_MIB to change).
. "$(dirname "$0")/lib.sh"
mib=${ML_NET_LARGE_MIB:-1024}
mkdir data
head -c "${mib}M" /dev/urandom > data/blob
want=$(sha data/blob)
port=$(start_upstream http "$work/data")
for mtu in ${ML_NET_LARGE_MTUS:-1500 65520}; do
  rm -f got put
  t0=$(date +%s.%N)
  rig --mtu "$mtu" -- sh -c "curl -sS --fail -o got http://192.0.2.1:$port/blob" > out 2>&1 || { cat out; fail "download"; }
  t1=$(date +%s.%N)
  [ "$(sha got)" = "$want" ] || fail "mtu $mtu: download corrupted"
  rm -f got
  rig --mtu "$mtu" -- sh -c "curl -sS --fail -T data/blob http://192.0.2.1:$port/up > put" > out 2>&1 || { cat out; fail "upload"; }
  t2=$(date +%s.%N)
  [ "$(cat put)" = "$want $((mib << 20))" ] || fail "mtu $mtu: upload: $(cat put)"
  awk -v m="$mib" -v mtu="$mtu" -v a="$t0" -v b="$t1" -v c="$t2" \
    'BEGIN { printf "ok: mtu %d: %d MiB down %.1fs (%.0f MiB/s), up %.1fs (%.0f MiB/s), sha256 equal\n", mtu, m, b-a, m/(b-a), c-b, m/(c-b) }'
done
