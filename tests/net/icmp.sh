# ICMP echo is answered by the gateway only; other destinations get nothing back.
. "$(dirname "$0")/lib.sh"
command -v ping >/dev/null || skip "ping (iputils-ping) not installed"
rig -- sh -c '
  ping -c 2 -W 2 192.168.127.1 || { echo "gateway did not answer"; exit 1; }
  if ping -c 1 -W 1 192.0.2.1; then echo "off-link address answered"; exit 1; fi
  if ping -c 1 -W 1 198.18.0.1; then echo "synthetic address answered"; exit 1; fi
' >out 2>&1 || { cat out; fail "icmp"; }
echo "ok: echo to the gateway only"
