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
  # Upstream reads then resets: the guest sees the connection die (not hang). Where the
  # reset lands decides curl's code: 52 (empty reply), 56 (recv failed) or 55 (send failed;
  # also getpeername() on a socket already reset right after the handshake).
  curl -sS --max-time 10 -d hello http://192.0.2.1:$reset_port/ ; rc=\$?
  case \$rc in 52|55|56) ;; *) echo \"reset upstream: curl exit \$rc, want 52/55/56\"; exit 1;; esac
  # Nothing listening upstream: the handshake already completed (the handler hands off and
  # connects asynchronously), so the guest sees a reset rather than a refusal.
  # The reset can even beat curl's getpeername() after connect (exit 55). A hang (28) or a
  # reply (0) fails.
  curl -sS --max-time 5 http://192.0.2.1:1/ ; rc=\$?
  case \$rc in 7|52|55|56) ;; *) echo \"dead upstream: curl exit \$rc, want 7/52/55/56\"; exit 1;; esac
  exit 0
" > out 2>&1 || { cat out; fail "close semantics"; }
echo "ok: refusal RST, half-close echo, upstream reset, dead upstream"
