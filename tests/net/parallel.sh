# 200 parallel connections through the stack, each a download verified by sha256; and 200
# parallel DNS lookups. (The downloads resolve the name once: 200 simultaneous curl start-ups on a
# 2-core CI box delay resolver retries past glibc's timeout, which would test the box, not us.)
. "$(dirname "$0")/lib.sh"
mkdir data
head -c 256K /dev/urandom > data/blob
want=$(sha data/blob)
port=$(start_upstream http "$work/data")
n=${ML_NET_PARALLEL:-200}
rig --allow par.test --flow-log flows -- bash -c "
  for i in \$(seq $n); do getent ahostsv4 par.test > dns.\$i & done
  fails=0; for j in \$(jobs -p); do wait \$j || fails=\$((fails+1)); done
  [ \$fails -eq 0 ] || { echo dns failures=\$fails; exit 1; }
  ip=\$(awk 'NR==1{print \$1}' dns.1)
  for i in \$(seq $n); do curl -sS --fail --max-time 120 -o got.\$i http://\$ip:$port/blob & done
  fails=0; for j in \$(jobs -p); do wait \$j || fails=\$((fails+1)); done
  echo failures=\$fails; [ \$fails -eq 0 ]
" > out 2>&1 || { tail -20 out; fail "parallel downloads failed"; }
bad=0
for i in $(seq "$n"); do [ "$(sha got.$i)" = "$want" ] || bad=$((bad + 1)); done
[ "$bad" -eq 0 ] || fail "$bad of $n downloads corrupted"
[ "$(grep -c " par.test$" flows)" -eq "$n" ] || fail "not every flow carried dst_name par.test"
echo "ok: $n parallel DNS lookups and $n parallel connections, all sha256 equal"
