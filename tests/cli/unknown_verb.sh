# An unknown command is a usage error with a clear message (exit 2).
source "$(dirname "$0")/lib.sh"
run_ml frobnicate
expect_rc 2
expect_contains "$ERR" 'matchlock: error: unknown command "frobnicate"'
run_ml
expect_rc 2
