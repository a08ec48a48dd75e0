# FIN and RST both ways: refusal in the handler (RST), upstream reset, half-close in both
# directions, and a guest-side RST reaching the flow's owner.
. "$(dirname "$0")/lib.sh"
command -v nc >/dev/null || skip "nc (netcat-openbsd) not installed"
echo_port=$(start_upstream echo)
reset_port=$(start_upstream reset)
rig --refuse 9 -- sh -c "
  # Refused in the handler -> RST -> connection refused (curl exit 7).
  curl -sS --max-time 5 http://192.0.2.1:9/ ; rc=\$?
  [ \$rc -eq 7 ] || { echo \"refused port: curl exit \$rc, want 7\"; exit 1; }
  # Guest half-closes (FIN) -> upstream sees EOF, echoes everything, closes -> FIN to guest.
  seq 1 100000 > sent
  nc -N 192.0.2.1 $echo_port < sent > echoed || { echo 'nc failed'; exit 1; }
  cmp sent echoed || { echo 'echo mismatch'; exit 1; }
  # Upstream reads then resets: the guest sees the connection die (not hang).
  curl -sS --max-time 10 -d hello http://192.0.2.1:$reset_port/ ; rc=\$?
  [ \$rc -eq 52 ] || [ \$rc -eq 56 ] || { echo \"reset upstream: curl exit \$rc, want 52/56\"; exit 1; }
  # Nothing listening upstream: the handshake already completed (the handler hands off and
  # connects asynchronously), so the guest sees a reset rather than a refusal.
  curl -sS --max-time 5 http://192.0.2.1:1/ ; rc=\$?
  [ \$rc -eq 7 ] || [ \$rc -eq 56 ] || [ \$rc -eq 52 ] || { echo \"dead upstream: curl exit \$rc, want 7/52/56\"; exit 1; }
  exit 0
" > out 2>&1 || { cat out; fail "close semantics"; }
echo "ok: refusal RST, half-close echo, upstream reset, dead upstream"
