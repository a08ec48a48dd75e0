# `matchlock version` prints the version and exits 0; an unknown verb is a usage error.
source "$(dirname "$0")/lib.sh"
run_ml version
expect_rc 0
expect_contains "$OUT" "matchlock 0."
run_ml no-such-verb
expect_rc 2
