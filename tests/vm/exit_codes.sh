# The command's exit status comes back: its code, 126 not executable, 127 not
# found, 128+N when killed by signal N.
. "$(dirname "$0")/lib.sh"
ml_run -- sh -c 'exit 7'
expect_rc 7
ml_run -- /etc/passwd
expect_rc 126
ml_run -- no-such-command
expect_rc 127
ml_run -- sh -c 'kill -TERM $$'
expect_rc 143
no_qemu_left
