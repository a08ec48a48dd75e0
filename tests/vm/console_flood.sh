# vm.console_flood: the guest decides how much it prints on its serial console; the host
# keeps at most two files of 4 MiB (console.log + console.log.1, backends/qemu/console_log),
# the newest output always, and the sandbox keeps working (issue 12: host resources).
. "$(dirname "$0")/../lifecycle/lib.sh"
write_matchlockfile flood ""
run_ml up
expect_rc 0
dir="$XDG_STATE_HOME/matchlock/sandboxes/flood"
# 5 MiB of console output (one rotation; ~150 KB/s through the emulated UART under TCG) as root in the guest, then a marker line.
run_ml exec -- sh -c 'head -c 5242880 /dev/zero | tr "\0" x >/dev/ttyS0; echo END-OF-FLOOD-MARKER >/dev/ttyS0; echo done'
expect_rc 0
expect_contains "$OUT" "done"
for i in $(seq 100); do grep -q END-OF-FLOOD-MARKER "$dir/console.log" 2>/dev/null && break; sleep 0.2; done
grep -q END-OF-FLOOD-MARKER "$dir/console.log" || fail "the newest console output is not in console.log"
size=$(stat -c %s "$dir/console.log")
old=$(stat -c %s "$dir/console.log.1" 2>/dev/null || echo 0)
[ "$size" -le 4194304 ] || fail "console.log is $size bytes (cap 4 MiB)"
[ "$old" -le 4194304 ] && [ "$old" -gt 0 ] || fail "console.log.1 is $old bytes (expected a rotated file <= 4 MiB)"
echo "console on disk after a 5 MiB flood: $((size + old)) bytes"
run_ml exec -- echo still-alive
expect_rc 0
expect_contains "$OUT" "still-alive"
run_ml logs --console
expect_rc 0
expect_contains "$OUT" "END-OF-FLOOD-MARKER"
run_ml down
expect_rc 0
echo PASS
