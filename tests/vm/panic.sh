# A guest that panics gives a clear error (exit 125 naming the panic) and
# leaves no QEMU behind.
. "$(dirname "$0")/lib.sh"
ml_run -- sh -c 'echo c > /proc/sysrq-trigger; sleep 30'
expect_rc 125
expect_contains "$ERR" "panic"
no_qemu_left
