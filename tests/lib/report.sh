# fail / skip for every shell test (sourced by tests/cli/lib.sh, tests/net/lib.sh and the
# scripts that use neither). skip is only for a capability that is truly absent: ctest
# counts exit 77 as skipped (SKIP_RETURN_CODE), and the message says which capability.
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
