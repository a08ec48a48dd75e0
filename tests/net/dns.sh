# DNS on the gateway: allowed names -> synthetic A (198.18.0.0/15), AAAA empty, others NXDOMAIN.
. "$(dirname "$0")/lib.sh"
command -v nslookup >/dev/null || skip "nslookup (bind9-dnsutils) not installed"
out="$work/out"
rig --allow allowed.test --allow other.test -- sh -c '
  set -e
  a=$(getent ahostsv4 allowed.test | awk "NR==1{print \$1}")
  b=$(getent ahostsv4 other.test | awk "NR==1{print \$1}")
  a2=$(getent ahostsv4 ALLOWED.test. | awk "NR==1{print \$1}")
  echo "a=$a b=$b a2=$a2"
  if getent hosts denied.test; then echo "denied resolved"; exit 1; fi
  nslookup -type=A allowed.test 192.168.127.1 | grep -q "Address: $a"
  nslookup -type=AAAA allowed.test 192.168.127.1 >aaaa.txt 2>&1 || true
  grep -q "NXDOMAIN" aaaa.txt && { echo "AAAA gave NXDOMAIN"; exit 1; }
  grep -q "has AAAA address" aaaa.txt && { echo "AAAA answered"; exit 1; }
  nslookup denied.test 192.168.127.1 | grep -q NXDOMAIN
  # Nothing is forwarded: another resolver is unreachable from the guest.
  if nslookup -timeout=1 -retry=0 allowed.test 1.1.1.1; then echo "reached 1.1.1.1"; exit 1; fi
' >"$out" 2>&1 || { cat "$out"; fail "guest DNS checks failed"; }
grep -Eq '^a=198\.1[89]\.[0-9]+\.[0-9]+ b=198\.1[89]\.[0-9]+\.[0-9]+ a2=' "$out" || { cat "$out"; fail "not synthetic"; }
a=$(sed -n 's/^a=\([^ ]*\) .*/\1/p' "$out"); b=$(sed -n 's/.* b=\([^ ]*\) .*/\1/p' "$out"); a2=$(sed -n 's/.* a2=\(.*\)/\1/p' "$out")
[ "$a" != "$b" ] || fail "two names share $a"
[ "$a" = "$a2" ] || fail "case/trailing dot not normalised: $a vs $a2"
echo "ok: allowed.test=$a other.test=$b, denied NXDOMAIN, AAAA empty, no forwarding"
